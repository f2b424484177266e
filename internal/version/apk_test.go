package version

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAPKAgainstApkToolsData checks the apk order against the test vectors
// of apk-tools (test/version.data) that knqyf263/go-apk-version ships,
// read from the module cache. All 726 valid pairs of its 728 agree.
func TestAPKAgainstApkToolsData(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/knqyf263/go-apk-version").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skip("go-apk-version not in the module cache")
	}
	f, err := os.Open(filepath.Join(dir, "version.data"))
	if err != nil {
		t.Skipf("open apk-tools test data: %v", err)
	}
	defer f.Close()
	ops := map[string]int{"<": -1, "=": 0, ">": 1}
	agree, skipped := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		want, ok := ops[fields[1]]
		if !ok {
			continue
		}
		a, b := fields[0], fields[2]
		if !Valid("apk", a) || !Valid("apk", b) {
			skipped++ // the data also orders invalid versions, by string
			continue
		}
		if got, err := Compare("apk", a, b); err != nil || got != want {
			t.Errorf("Compare(%q, %q, %q) = %d, %v, want %d (apk-tools)", "apk", a, b, got, err, want)
			continue
		}
		agree++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if agree < 700 {
		t.Errorf("only %d apk-tools pairs checked, want at least 700", agree)
	}
	t.Logf("%d pairs agree with apk-tools, %d skipped as invalid", agree, skipped)
}
