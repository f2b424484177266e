package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
)

// tokenAuditDetails are the details of the token.create and token.revoke
// audit entries. They never hold the secret or its hash.
type tokenAuditDetails struct {
	Name string       `json:"name"`
	Role sextant.Role `json:"role"`
	// ExpiresAt is null for a token that does not expire.
	ExpiresAt *time.Time `json:"expires_at"`
}

func newTokenAuditDetails(tok sextant.Token) tokenAuditDetails {
	d := tokenAuditDetails{Name: tok.Name, Role: tok.Role}
	if !tok.ExpiresAt.IsZero() {
		exp := tok.ExpiresAt.UTC()
		d.ExpiresAt = &exp
	}
	return d
}

func (m *Main) tokenCommand() *cobra.Command {
	var database string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens",
		Long: `API tokens authenticate clients of 'sextant serve'. Each has a role:

  viewer    reads findings, actions and the audit trail
  analyst   also pushes reports and changes finding statuses
  approver  also approves actions
  admin     also manages tokens and configuration

The database keeps only the SHA-256 of a token's secret: the secret is shown
once, by 'token create', and cannot be shown again. Creating and revoking a
token is recorded in the audit trail as done by cli:<your user name>.`,
	}
	cmd.PersistentFlags().StringVar(&database, "database", "", databaseFlagUsage)

	var (
		name, role string
		expires    time.Duration
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a token and print its secret, once",
		Long: `Create a token and print its secret on standard output, alone on one line,
so that it can be piped into a secret store. The secret is not kept and is
never shown again; a lost secret means a new token (and revoking the old).`,
		Example: `  sextant token create --name ci-upload --role analyst
  sextant token create --name grafana --role viewer --expires 2160h
  sextant token create --name bootstrap --role admin --expires 0 | vault kv put secret/sextant token=-`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := sextant.ParseRole(role)
			if err != nil {
				return err
			}
			if expires < 0 {
				return sextant.Errorf(sextant.EINVALID, "--expires %s is negative", expires)
			}
			tok := sextant.Token{Name: name, Role: r, CreatedBy: m.cliActor()}
			if expires > 0 {
				tok.ExpiresAt = time.Now().Add(expires)
			}
			// Check the name before opening, and maybe creating, the
			// database; the hash is a stand-in.
			if err := sextant.CheckToken(tok, sextant.HashTokenSecret("")); err != nil {
				return err
			}
			ctx := cmd.Context()
			db, err := m.openCLIDatabase(ctx, cmd, database, true)
			if err != nil {
				return err
			}
			defer db.Close()
			secret, hash, err := sextant.NewTokenSecret()
			if err != nil {
				return err
			}
			tok, err = db.CreateToken(ctx, tok, hash)
			if err != nil {
				return err
			}
			if _, err := audit.NewLog(db).Append(ctx, tok.CreatedBy, "token.create", tok.ID, newTokenAuditDetails(tok)); err != nil {
				// A token whose creation is not in the audit trail must not
				// be usable: revoke it and keep its secret.
				if rerr := db.RevokeToken(ctx, tok.ID, tok.CreatedBy); rerr != nil {
					return fmt.Errorf("token %s created but not recorded in the audit trail (%v), and revoking it failed: %v; revoke it with 'sextant token revoke %s'", tok.ID, err, rerr, tok.ID)
				}
				return fmt.Errorf("token not issued: recording it in the audit trail failed, so it was revoked: %w", err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), secret)
			fmt.Fprintf(cmd.ErrOrStderr(), "Created token %s (%q, role %s, %s). The secret above is shown only once: store it now.\n",
				tok.ID, tok.Name, tok.Role, expiryText(tok))
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "what the token is for, e.g. ci-upload (required)")
	create.Flags().StringVar(&role, "role", "", "viewer, analyst, approver or admin (required)")
	create.Flags().DurationVar(&expires, "expires", 720*time.Hour, "lifetime, e.g. 720h (30 days); 0 for a token that never expires")
	create.MarkFlagRequired("name")
	create.MarkFlagRequired("role")

	var output string
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens, revoked and expired ones included (never their secrets)",
		Example: `  sextant token list
  sextant token list -o json | jq -r '.[] | select(.revoked_at == null) | .id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return sextant.Errorf(sextant.EINVALID, "-o %q: want table or json", output)
			}
			ctx := cmd.Context()
			db, err := m.openCLIDatabase(ctx, cmd, database, false)
			if err != nil {
				return err
			}
			defer db.Close()
			toks, err := db.Tokens(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				if toks == nil {
					toks = []sextant.Token{}
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(toks)
			}
			now := time.Now()
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
			for _, t := range toks {
				expiry := "never"
				if !t.ExpiresAt.IsZero() {
					expiry = tokenTime(t.ExpiresAt)
					if t.Expired(now) {
						expiry += " (expired)"
					}
				}
				lastUsed, revoked := "never", "-"
				if !t.LastUsedAt.IsZero() {
					lastUsed = tokenTime(t.LastUsedAt)
				}
				if !t.RevokedAt.IsZero() {
					revoked = tokenTime(t.RevokedAt) + " by " + t.RevokedBy
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, tokenTime(t.CreatedAt), expiry, lastUsed, revoked)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")

	revoke := &cobra.Command{
		Use:     "revoke ID",
		Short:   "Revoke a token: it stops working at once, and stays listed",
		Example: `  sextant token revoke tok_3f1c0a9e2b7d4c5e6f708192`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			ctx := cmd.Context()
			db, err := m.openCLIDatabase(ctx, cmd, database, false)
			if err != nil {
				return err
			}
			defer db.Close()
			toks, err := db.Tokens(ctx)
			if err != nil {
				return err
			}
			var tok *sextant.Token
			for i := range toks {
				if toks[i].ID == id {
					tok = &toks[i]
				}
			}
			if tok == nil {
				return sextant.Errorf(sextant.ENOTFOUND, "token %q not found; 'sextant token list' shows the IDs", id)
			}
			if !tok.RevokedAt.IsZero() {
				fmt.Fprintf(cmd.ErrOrStderr(), "token %s (%q) was already revoked at %s by %s; nothing changed\n",
					tok.ID, tok.Name, tokenTime(tok.RevokedAt), tok.RevokedBy)
				return nil
			}
			actor := m.cliActor()
			if err := db.RevokeToken(ctx, id, actor); err != nil {
				return err
			}
			if _, err := audit.NewLog(db).Append(ctx, actor, "token.revoke", id, newTokenAuditDetails(*tok)); err != nil {
				return fmt.Errorf("token %s revoked, but recording it in the audit trail failed: %w", id, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked token %s (%q)\n", tok.ID, tok.Name)
			return nil
		},
	}

	cmd.AddCommand(create, list, revoke)
	return cmd
}

// tokenTime formats a token's time for the listing: UTC, to the second.
func tokenTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func expiryText(tok sextant.Token) string {
	if tok.ExpiresAt.IsZero() {
		return "never expires"
	}
	return "expires " + tokenTime(tok.ExpiresAt)
}
