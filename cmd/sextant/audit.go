package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
	"github.com/sextant-dev/sextant/internal/backend"
)

// defaultCLIDatabase is the database of the admin commands (audit, token)
// when neither --database nor SEXTANT_DATABASE names one.
const defaultCLIDatabase = "./sextant.db"

// databaseFlagUsage is the help of the --database flag of the admin
// commands.
const databaseFlagUsage = "`DATABASE`: a SQLite file path or a postgres:// URL (default $SEXTANT_DATABASE, else " + defaultCLIDatabase + ")"

// cliDatabase returns the database an admin command works on: --database
// when given, else $SEXTANT_DATABASE, else ./sextant.db.
func (m *Main) cliDatabase(cmd *cobra.Command, flag string) string {
	if f := cmd.Flags().Lookup("database"); f != nil && f.Changed {
		return flag
	}
	if env := m.Getenv("SEXTANT_DATABASE"); env != "" {
		return env
	}
	return defaultCLIDatabase
}

// openCLIDatabase opens the database of an admin command. A SQLite file
// that does not exist is an error unless create is set, so that a typo in
// the path does not report on a new, empty database.
func (m *Main) openCLIDatabase(ctx context.Context, cmd *cobra.Command, flag string, create bool) (backend.DB, error) {
	database := m.cliDatabase(cmd, flag)
	if path, ok := backend.SQLitePath(database); ok {
		_, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !create:
			return nil, sextant.Errorf(sextant.ENOTFOUND, "database %s does not exist: name it with --database or SEXTANT_DATABASE", path)
		case errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(cmd.ErrOrStderr(), "creating database %s\n", path)
		}
	}
	return backend.Open(ctx, database)
}

// cliActor is the audit trail's actor for what a person does through the
// CLI: "cli:" and their operating-system user name.
func (m *Main) cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	if name := m.Getenv("USER"); name != "" {
		return "cli:" + name
	}
	return "cli"
}

func (m *Main) auditCommand() *cobra.Command {
	var database string
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify and export the tamper-evident audit trail",
		Long: `sextant records who did what (token changes, status changes, approvals) in an
append-only audit trail in its database. Each entry holds the SHA-256 of its
content and of the entry before it, so an entry edited, deleted, inserted or
moved in the database breaks the chain from there on. See docs/audit.md.

'audit verify' walks the chain and names the first entry that breaks it.
'audit export' writes the trail as JSON lines for a SIEM.`,
	}
	cmd.PersistentFlags().StringVar(&database, "database", "", databaseFlagUsage)

	var anchors []string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check the hash chain of the audit trail; exit 1 naming the first bad entry",
		Long: `Check every entry of the audit trail: its number follows the one before, its
hash matches its content, and it links to the hash of the entry before.

On success it prints the head (the last entry's seq and hash) and exits 0.
On a break it prints the first bad entry's seq and what is wrong, and exits 1.

Removing entries from the end, or rewriting the chain and recomputing every
hash after the change, leaves a valid chain. To catch both, keep the head
printed by a run somewhere the database's writers cannot change (a ticket,
your SIEM, a signed commit) and pass it back later with --anchor SEQ:HASH.`,
		Example: `  sextant audit verify
  sextant audit verify --database postgres://sextant@db/sextant
  sextant audit verify --anchor 1042:<the head hash printed by an earlier verify>`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			as := make([]audit.Anchor, 0, len(anchors))
			for _, s := range anchors {
				a, err := parseAnchor(s)
				if err != nil {
					return err
				}
				as = append(as, a)
			}
			ctx := cmd.Context()
			db, err := m.openCLIDatabase(ctx, cmd, database, false)
			if err != nil {
				return err
			}
			defer db.Close()
			res, err := audit.Verify(ctx, db, as...)
			if err != nil {
				return err
			}
			errw := cmd.ErrOrStderr()
			for _, w := range res.Warnings {
				fmt.Fprintf(errw, "warning: %s\n", w)
			}
			if more := res.WarningCount - len(res.Warnings); more > 0 {
				fmt.Fprintf(errw, "warning: %d more entries whose time goes backwards\n", more)
			}
			if !res.OK() {
				return sextant.Errorf(sextant.EINVALID, "audit trail broken: %s (%d entries checked)", res.Problem, res.Checked)
			}
			entries := "entries"
			if res.Checked == 1 {
				entries = "entry"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "audit trail intact: %d %s, last seq %d, head hash %s\n", res.Checked, entries, res.Head.Seq, res.Head.Hash)
			return nil
		},
	}
	verify.Flags().StringArrayVar(&anchors, "anchor", nil, "an entry's `SEQ:HASH` recorded earlier, such as a head printed by verify (repeatable)")

	var output string
	export := &cobra.Command{
		Use:   "export",
		Short: "Write the audit trail as JSON lines, oldest first",
		Long: `Write every entry of the audit trail as one JSON object per line, in order:

  {"seq":1,"time":"2025-08-25T09:30:00.123456000Z","actor":"cli:alice","action":"token.create",
   "subject":"tok_…","details":{…},"prev_hash":"000…","hash":"3f2a…"}

time and details are in the canonical form the hash covers, so the chain can
be checked from the export alone (docs/audit.md). The export does not check
the chain: run 'audit verify' for that. With -o the file is written whole or
not at all, readable by its owner only.`,
		Example: `  sextant audit export > audit.jsonl
  sextant audit export -o /var/log/sextant/audit.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, err := m.openCLIDatabase(ctx, cmd, database, false)
			if err != nil {
				return err
			}
			defer db.Close()
			if output == "" || output == "-" {
				return audit.ExportJSONL(ctx, db, cmd.OutOrStdout())
			}
			return exportFile(ctx, db, output)
		},
	}
	export.Flags().StringVarP(&output, "output", "o", "", "write to `FILE` instead of standard output")

	cmd.AddCommand(verify, export)
	return cmd
}

// parseAnchor reads an --anchor value, SEQ:HASH. audit.Verify checks the
// hash's form.
func parseAnchor(s string) (audit.Anchor, error) {
	seq, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil || n < 1 {
		return audit.Anchor{}, sextant.Errorf(sextant.EINVALID, "--anchor %q: want SEQ:HASH, e.g. 42:<64 hex digits> as printed by 'audit verify'", s)
	}
	return audit.Anchor{Seq: n, Hash: strings.ToLower(hash)}, nil
}

// exportFile exports the audit trail to a temporary file beside path and
// renames it to path once complete, so that path never holds a partial
// export.
func exportFile(ctx context.Context, r audit.Reader, path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("export audit trail: %v", err)
	}
	defer os.Remove(f.Name()) // after a successful rename, a no-op
	if err := audit.ExportJSONL(ctx, r, f); err != nil {
		f.Close()
		return err
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("export audit trail to %s: %v", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("export audit trail: %v", err)
	}
	return nil
}
