package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sampleContent is a realistic action: one upgrade of glibc in a Debian
// image fixing two CVEs.
func sampleContent() sextant.TicketContent {
	const artifact = "registry.example/payments/api:1.4.2"
	id := sextant.ActionID(sextant.ActionUpgradePackage, "registry.example/payments/api@sha256:9f2c1e0b7a4d4c21b3e8a0f6d2c4b1aa9f2c1e0b7a4d4c21b3e8a0f6d2c4b1aa", "deb/libc6")
	return sextant.TicketContent{
		Action: sextant.Action{
			ID:               id,
			Priority:         sextant.P0,
			Score:            91.5,
			Title:            "Upgrade libc6 2.36-9+deb12u4 → 2.36-9+deb12u7 in " + artifact + " (fixes 2 CVEs)",
			Artifact:         artifact,
			Kind:             sextant.ActionUpgradePackage,
			Package:          "libc6",
			Ecosystem:        "debian",
			InstalledVersion: "2.36-9+deb12u4",
			TargetVersion:    "2.36-9+deb12u7",
			Commands:         []string{"apt-get update && apt-get install -y --only-upgrade libc6=2.36-9+deb12u7"},
			Notes:            []string{"Rebuild the image and redeploy: every process loads glibc at start."},
			Vulnerabilities:  []string{"CVE-2023-4911", "CVE-2024-2961"},
			FindingIDs:       []string{"fnd_1c0ffee1c0ffee1c0ffe", "fnd_2decade2decade2deca"},
			RiskRemoved:      170.2,
			Factors: []sextant.Factor{
				{Name: "kev", Value: true, Weight: 30, Contribution: 30, Evidence: "CVE-2023-4911 is in CISA KEV"},
				{Name: "epss", Value: 0.71, Weight: 20, Contribution: 14.2},
			},
		},
		Status:   sextant.ActionOpen,
		Findings: 2,
		Owner:    "team-payments",
		Summary:  "CVE-2023-4911 (Looney Tunables) lets a local user become root through GLIBC_TUNABLES; it is in CISA's KEV catalog.",
		Link:     "https://sextant.example/actions/" + id,
	}
}

// TestSignVector checks sign against the Standard Webhooks reference
// vector (libraries/go/webhook_test.go, TestWebhookSign).
func TestSignVector(t *testing.T) {
	key, err := DecodeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("sign(reference vector) = %s, want %s", got, want)
	}
}

func TestEventsGolden(t *testing.T) {
	at := time.Date(2026, 8, 21, 10, 0, 0, 0, time.UTC)
	tc := sampleContent()
	ref := sextant.TicketRef{ExternalID: "T-1042", URL: "https://tickets.example/T-1042"}
	keyRef := sextant.TicketRef{ExternalID: sextant.CorrelationKey(tc.Action.ID), URL: tc.Link}
	ctx := context.Background()
	tests := []struct {
		name, event string
		id          string
		data        EventData
	}{}
	add := func(name, event, id string, data EventData) {
		tests = append(tests, struct {
			name, event string
			id          string
			data        EventData
		}{name, event, id, data})
	}
	id, data := createdEvent(tc)
	add("created", EventCreated, id, data)
	id, data = commentedEvent(ctx, ref, tc, "Still present in scan 2026-08-21 (3 workloads).")
	add("commented", EventCommented, id, data)
	id, data = transitionEvent(ctx, EventClosed, keyRef, "Resolved: no longer seen in 3 consecutive scans.")
	add("closed", EventClosed, id, data)
	id, data = transitionEvent(WithDeliveryKey(ctx, "outbox-981"), EventReopened, ref, "Seen again in scan 2026-09-02.")
	add("reopened", EventReopened, id, data)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := encodeEvent(tt.event, at, tt.data)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(map[string]any{"webhook-id": tt.id, "body": json.RawMessage(body)}); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", tt.name+".golden.json"), b.Bytes())
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got, go test -update rewrites it):\n%s", path, diff)
	}
}

// TestMessageIDs pins down which events share a webhook-id: the same event
// again (a retry) does; anything else does not.
func TestMessageIDs(t *testing.T) {
	ctx := context.Background()
	tc := sampleContent()
	ref := sextant.TicketRef{ExternalID: "T-1042"}
	created := func(tc sextant.TicketContent) string { id, _ := createdEvent(tc); return id }
	commented := func(ctx context.Context, tc sextant.TicketContent, c string) string {
		id, _ := commentedEvent(ctx, ref, tc, c)
		return id
	}
	closed := func(ctx context.Context, c string) string {
		id, _ := transitionEvent(ctx, EventClosed, ref, c)
		return id
	}
	reopened := func(ctx context.Context, c string) string {
		id, _ := transitionEvent(ctx, EventReopened, ref, c)
		return id
	}

	changed := sampleContent()
	changed.Findings = 3
	other := sampleContent()
	other.Action.ID = "act_00000000000000000000"
	k1, k2 := WithDeliveryKey(ctx, "row-1"), WithDeliveryKey(ctx, "row-2")

	same := []struct {
		name string
		a, b string
	}{
		{"create retried", created(tc), created(tc)},
		{"create with changed content", created(tc), created(changed)},
		{"comment retried", commented(ctx, tc, "c"), commented(ctx, tc, "c")},
		{"comment retried by key", commented(k1, tc, "c"), commented(k1, changed, "c2")},
		{"close retried", closed(ctx, "done"), closed(ctx, "done")},
	}
	for _, tt := range same {
		if tt.a != tt.b {
			t.Errorf("%s: ids %s and %s differ, want equal", tt.name, tt.a, tt.b)
		}
	}
	differ := []struct {
		name string
		a, b string
	}{
		{"other action", created(tc), created(other)},
		{"comment text", commented(ctx, tc, "a"), commented(ctx, tc, "b")},
		{"comment content", commented(ctx, tc, "a"), commented(ctx, changed, "a")},
		{"comment delivery keys", commented(k1, tc, "a"), commented(k2, tc, "a")},
		{"close vs reopen", closed(ctx, "x"), reopened(ctx, "x")},
		{"close twice by key", closed(k1, "x"), closed(k2, "x")},
	}
	for _, tt := range differ {
		if tt.a == tt.b {
			t.Errorf("%s: ids are both %s, want different", tt.name, tt.a)
		}
	}
	if id := created(tc); len(id) != len("msg_")+32 {
		t.Errorf("created id %q, want msg_ and 32 hex digits", id)
	}
}
