package udiff

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLines(t *testing.T) {
	tests := map[string][]string{
		"":         nil,
		"a":        {"a"},
		"a\n":      {"a\n"},
		"a\r\nb":   {"a\r\n", "b"},
		"a\n\nb\n": {"a\n", "\n", "b\n"},
	}
	for in, want := range tests {
		got := Lines(in)
		if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("Lines(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnifiedEqual(t *testing.T) {
	a := Lines("x\ny\n")
	if got := Unified("a/f", "b/f", a, a); got != "" {
		t.Errorf("Unified(equal) = %q, want empty", got)
	}
}

func TestUnifiedFormat(t *testing.T) {
	a := Lines("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n")
	b := Lines("1\n2\n3\nfour\n5\n6\n7\n8\n9\n10\neleven")
	got := Unified("a/f", "b/f", a, b)
	// The changes are 6 lines apart: within twice the context, so one hunk,
	// as diff(1) makes it.
	want := "--- a/f\n+++ b/f\n@@ -1,10 +1,11 @@\n 1\n 2\n 3\n-4\n+four\n 5\n 6\n 7\n 8\n 9\n 10\n+eleven\n\\ No newline at end of file\n"
	if got != want {
		t.Errorf("Unified =\n%s\nwant\n%s", got, want)
	}
}

// TestUnifiedAppliesWithPatch checks diffs against the real patch(1): for
// a set of edits, applying the diff to the old file gives the new one.
func TestUnifiedAppliesWithPatch(t *testing.T) {
	if _, err := exec.LookPath("patch"); err != nil {
		t.Skip("patch(1) not installed")
	}
	cases := []struct{ old, new string }{
		{"a\nb\nc\n", "a\nB\nc\n"},
		{"a\nb\nc\n", "x\na\nb\nc\n"},
		{"a\nb\nc\n", "a\nb\n"},
		{"a\r\nb\r\n", "a\r\nb\r\nc\r\n"},
		{"a\nb", "a\nb\n"},
		{"", "new\n"},
		{strings.Repeat("line\n", 50) + "x\n" + strings.Repeat("line\n", 50), strings.Repeat("line\n", 50) + "y\n" + strings.Repeat("line\n", 49) + "z\n"},
	}
	for i, c := range cases {
		dir := t.TempDir()
		f := filepath.Join(dir, "f")
		if err := os.WriteFile(f, []byte(c.old), 0o600); err != nil {
			t.Fatal(err)
		}
		d := Unified("a/f", "b/f", Lines(c.old), Lines(c.new))
		cmd := exec.Command("patch", "-p1", "--quiet", "--binary")
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(d)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("case %d: patch failed: %v\n%s\ndiff:\n%s", i, err, out, d)
		}
		got, _ := os.ReadFile(f)
		if string(got) != c.new {
			t.Errorf("case %d: patched = %q, want %q\ndiff:\n%s", i, got, c.new, d)
		}
	}
}
