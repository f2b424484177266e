package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// promptV2 is a second version of the action-summary prompt, made the way
// docs/ai.md suggests: from 'prompts show', with one rule changed.
func promptV2(t *testing.T) string {
	t.Helper()
	code, v1, errs := run(t, "", "prompts", "show", "action-summary@1")
	if code != exitOK {
		t.Fatalf("prompts show: exit %d, stderr:\n%s", code, errs)
	}
	v2 := strings.Replace(v1, "version: 1", "version: 2", 1)
	v2 = strings.Replace(v2, "7. Be brief and concrete", "7. Be very brief and concrete", 1)
	if v2 == v1 {
		t.Fatal("could not edit the prompt")
	}
	return v2
}

func TestPromptsList(t *testing.T) {
	code, out, errs := run(t, "", "prompts", "list")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	if !regexp.MustCompile(`(?m)^ID\s+VERSION\s+HASH\s+DESCRIPTION$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^action-summary\s+1\s+[0-9a-f]{12}\s+Plain-language`).MatchString(out) {
		t.Errorf("prompts list =\n%s", out)
	}
}

func TestPromptsOverrideShowDiff(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "action-summary.v2.md"), []byte(promptV2(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	// The flag and the environment variable name the same directory.
	code, out, errs := runEnv(t, map[string]string{"SEXTANT_PROMPTS_DIR": dir}, "prompts", "list")
	if code != exitOK || !regexp.MustCompile(`(?m)^action-summary\s+2\s+[0-9a-f]{12}\s+.*action-summary\.v2\.md\)$`).MatchString(out) {
		t.Errorf("prompts list with SEXTANT_PROMPTS_DIR: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = run(t, "", "prompts", "show", "--prompts-dir", dir, "action-summary")
	if code != exitOK || !strings.Contains(out, "version: 2") || !strings.Contains(out, "Be very brief") {
		t.Errorf("prompts show (latest): exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = run(t, "", "prompts", "diff", "--prompts-dir", dir, "action-summary@1", "action-summary@2")
	if code != exitOK {
		t.Fatalf("prompts diff: exit %d, stderr:\n%s", code, errs)
	}
	for _, want := range []string{"--- action-summary@1\n+++ action-summary@2\n", "-version: 1\n+version: 2\n", "-7. Be brief and concrete", "+7. Be very brief and concrete"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	if code, _, errs := run(t, "", "prompts", "show", "action-summary@2"); code != exitError || !strings.Contains(errs, "no version 2") {
		t.Errorf("show @2 without the directory: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := run(t, "", "prompts", "show", "--prompts-dir", filepath.Join(dir, "nope"), "action-summary"); code != exitError || !strings.Contains(errs, "prompts directory") {
		t.Errorf("show with a missing directory: exit %d, stderr %q", code, errs)
	}
}
