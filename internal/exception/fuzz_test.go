package exception

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzDecodeRequest holds the request decoder to: no panic on any input;
// a request it accepts has a valid status, an expiry, a requester and a
// subject, survives a JSON round trip unchanged, and can be assessed.
// The seeds are kept in testdata/fuzz/FuzzDecodeRequest.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(baseRequest))
	f.Add([]byte("finding: abc\nstatus: not_affected\njustification: component_not_present\nexpires: 2025-07-01T10:00:00Z\nrequester: x\n"))
	f.Add([]byte(`{"action":"act_1","status":"accepted_risk","expires":"2025-07-01","requester":"r","compensating_controls":[{"description":"d","evidence":["https://e.example.com"]}],"approval":{"by":"b","at":"2025-06-01"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b, "fuzz")
		if err != nil {
			return
		}
		if (r.Status != AcceptedRisk && r.Status != NotAffected) || r.Expires.IsZero() || r.Requester == "" || r.ID == "" ||
			(r.Finding == "" && r.Action == "" && (r.Vulnerability == "" || r.Artifact == "")) {
			t.Fatalf("DecodeRequest accepted an incomplete request: %+v", r)
		}
		j, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := DecodeRequest(j, "fuzz round trip")
		if err != nil {
			t.Fatalf("DecodeRequest(%s) = %v after a round trip", j, err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the request:\n%+v\n%+v", r, r2)
		}
		a := Assess(r, DefaultPolicy(), Unverified("fuzz"), day)
		if a.Verdict != Approve && a.Verdict != Route && a.Verdict != Deny {
			t.Fatalf("verdict %q", a.Verdict)
		}
	})
}

// FuzzDecodePolicy holds the policy decoder to: no panic; a policy it
// accepts has every maximum and a verdict for each case, and can assess
// any request.
func FuzzDecodePolicy(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "default-policy.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("max_expiry: {P0: 1w, P1: 2w, P2: 30, P3: 90d}\nstatuses: {not_affected: {justifications: [component_not_present]}}\nevidence_hosts: [Jira.Example.com.]\n"))
	f.Add([]byte(`{"max_expiry":{"P0":"1d","P1":"1d","P2":"1d","P3":"1d"},"statuses":{"accepted_risk":{"min_controls":3}},"rules":[{"name":"r","when":{"priority":["P0","P1"],"kev":false},"max_expiry":"2w","verdict":"route"}]}`))
	r, err := DecodeRequest([]byte(baseRequest), "base")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePolicy(b, "fuzz")
		if err != nil {
			return
		}
		if len(p.MaxExpiry) != 4 || len(p.Statuses) == 0 || p.OverMaxExpiry == "" || p.Unverified == "" {
			t.Fatalf("DecodePolicy accepted an incomplete policy: %+v", p)
		}
		for _, facts := range []Facts{Unverified("fuzz"), p2Facts()} {
			if a := Assess(r, p, facts, day); a.Verdict != Approve && a.Verdict != Route && a.Verdict != Deny {
				t.Fatalf("verdict %q", a.Verdict)
			}
		}
	})
}
