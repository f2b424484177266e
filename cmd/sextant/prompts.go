package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sextant-dev/sextant/internal/prompt"
	"github.com/sextant-dev/sextant/internal/udiff"
)

func (m *Main) promptsCommand() *cobra.Command {
	var dir string
	load := func() (*prompt.Registry, error) {
		d := dir
		if d == "" {
			d = m.Getenv("SEXTANT_PROMPTS_DIR")
		}
		return prompt.Load(d)
	}
	cmd := &cobra.Command{
		Use:   "prompts",
		Short: "List, show and compare the versioned prompts sent to language models",
		Long: `prompts shows the prompts sextant sends to language models when it explains
actions. Each prompt has an ID and integer versions; every explanation records
the ID, version and SHA-256 hash of the prompt that produced it.

The prompts that ship with sextant are built in. A directory of overrides
(--prompts-dir, or $SEXTANT_PROMPTS_DIR) may hold more *.md files: one with the
ID and version of a built-in prompt replaces it, any other adds a version.
'sextant prompts show ID > dir/ID.v2.md' is a starting point for a new version.
See docs/ai.md.`,
		Args: cobra.NoArgs,
	}
	cmd.PersistentFlags().StringVar(&dir, "prompts-dir", "", "directory of prompt overrides (default: $SEXTANT_PROMPTS_DIR)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List every version of every prompt",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := load()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tVERSION\tHASH\tDESCRIPTION")
			for _, p := range r.List() {
				desc := p.Description
				if p.Source != "embedded" {
					desc += " (" + p.Source + ")"
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", p.ID, p.Version, p.Hash[:12], desc)
			}
			return tw.Flush()
		},
	}
	show := &cobra.Command{
		Use:   "show ID[@VERSION]",
		Short: "Print a prompt as a prompt file (the latest version unless one is named)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := load()
			if err != nil {
				return err
			}
			p, err := r.Lookup(args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), promptFile(p))
			return err
		},
	}
	diff := &cobra.Command{
		Use:   "diff ID@V1 ID@V2",
		Short: "Show the differences between two prompt versions as a unified diff",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := load()
			if err != nil {
				return err
			}
			a, err := r.Lookup(args[0])
			if err != nil {
				return err
			}
			b, err := r.Lookup(args[1])
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), udiff.Unified(a.Ref(), b.Ref(), udiff.Lines(promptFile(a)), udiff.Lines(promptFile(b))))
			return err
		},
	}
	cmd.AddCommand(list, show, diff)
	return cmd
}

// promptFile renders a prompt as the file it is loaded from; its content
// (what the hash covers) follows the front matter unchanged.
func promptFile(p prompt.Prompt) string {
	return "---\nid: " + p.ID + "\nversion: " + strconv.Itoa(p.Version) +
		"\ndescription: " + p.Description + "\nschema: " + p.Schema + "\n---\n" + p.Content
}
