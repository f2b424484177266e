package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sextant-dev/sextant"
)

// approvalsCommand is the client side of the approval workflow: list the
// requests, approve or reject one. The server checks the token's role
// (approver) and refuses a decision on one's own request.
func (m *Main) approvalsCommand() *cobra.Command {
	var cf clientFlags
	var status, output string
	list := &cobra.Command{
		Use:   "list [flags]",
		Short: "List approval requests (pending by default)",
		Example: `  sextant approvals list
  sextant approvals list --status approved -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := m.newAPIClient(cmd, cf)
			if err != nil {
				return err
			}
			q := url.Values{}
			if status != "all" {
				q.Set("status", status)
			}
			var items []sextant.Approval
			if _, err := c.list(cmd.Context(), "/v1/approvals", q, true, func(raw json.RawMessage) error {
				var a sextant.Approval
				if err := json.Unmarshal(raw, &a); err != nil {
					return fmt.Errorf("decode approval: %v", err)
				}
				items = append(items, a)
				return nil
			}); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if items == nil {
					items = []sextant.Approval{}
				}
				return enc.Encode(items)
			}
			rows := make([][]string, 0, len(items))
			for _, a := range items {
				decided := ""
				if a.DecidedBy != "" {
					decided = a.DecidedBy
				}
				rows = append(rows, []string{a.ID, string(a.Status), a.Kind, a.ActionID, clean(a.RequestedBy),
					a.ExpiresAt.UTC().Format(time.RFC3339), clean(decided), clean(a.Reason)})
			}
			return writeTable(out, []string{"ID", "STATUS", "KIND", "ACTION", "REQUESTED BY", "EXPIRES", "DECIDED BY", "REASON"}, rows)
		},
	}
	cf.register(list)
	list.Flags().StringVar(&status, "status", "pending", "pending, approved, rejected, expired or all")
	list.Flags().StringVarP(&output, "output", "o", "table", "table or json")

	decide := func(verb string, st sextant.ApprovalStatus) *cobra.Command {
		var cf clientFlags
		var comment string
		cmd := &cobra.Command{
			Use:   verb + " ID",
			Short: strings.ToUpper(verb[:1]) + verb[1:] + " an approval request (needs the approver role)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if st == sextant.ApprovalRejected && strings.TrimSpace(comment) == "" {
					return sextant.Errorf(sextant.EINVALID, "reject needs --reason: say why, for the record")
				}
				c, err := m.newAPIClient(cmd, cf)
				if err != nil {
					return err
				}
				body, _ := json.Marshal(map[string]string{"comment": comment})
				req, err := c.newRequest(cmd.Context(), "POST", "/v1/approvals/"+url.PathEscape(args[0])+"/"+verb, nil, bytes.NewReader(body))
				if err != nil {
					return err
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := c.do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				var a sextant.Approval
				if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
					return fmt.Errorf("decode the server's answer: %v", err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s by %s (action %s)\n", a.ID, a.Status, clean(a.DecidedBy), a.ActionID)
				return nil
			},
		}
		cf.register(cmd)
		cmd.Flags().StringVar(&comment, "reason", "", "why (required to reject)")
		return cmd
	}
	cmd := &cobra.Command{
		Use:   "approvals",
		Short: "List, approve and reject approval requests on a running sextant server",
		Long: `Actions the approval policy holds back (see docs/sinks.md) and remediations wait
for a person with the approver role. Approvals expire; an approver cannot
decide on their own request; every decision is on the audit trail with who,
when and why. Slack and Teams messages carry the same Approve and Reject.`,
	}
	cmd.AddCommand(list, decide("approve", sextant.ApprovalApproved), decide("reject", sextant.ApprovalRejected))
	return cmd
}
