package teams

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzStatusError checks that no error answer, whatever it echoes, gets the
// webhook's credential into an error message, and that every answer maps
// to an error. Seeds live in testdata/fuzz/FuzzStatusError.
func FuzzStatusError(f *testing.F) {
	const sig = "Zm9yZ2UtbWUtbm90LXRlYW1zLXNpZy1zZXh0YW50LXRlc3Q"
	const hook = "https://prod-12.westeurope.logic.azure.com/workflows/6f1c/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + sig
	f.Add(400, []byte(`{"error":{"code":"TriggerInputSchemaMismatch","message":"The input body for trigger 'manual' of type 'Request' did not match its schema definition."}}`))
	f.Add(404, []byte(`{"error":{"code":"WorkflowNotFound","message":"The workflow at `+hook+` could not be found."}}`))
	f.Add(429, []byte(`{"error":{"code":"`+strings.Repeat("x", 95)+sig+`"}}`))
	f.Add(502, []byte(`<html>Bad gateway</html>`))
	f.Add(401, []byte(`{"error":{"code":"DirectApiAuthorizationRequired","message":"`+strings.Repeat("é", 290)+sig+`"}}`))
	c, err := New(Config{URL: hook})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		status = 300 + (status%300+300)%300
		err := c.statusError("teams post", &http.Response{StatusCode: status, Header: http.Header{}}, body)
		if err == nil {
			t.Fatalf("statusError(%d, %q) = nil", status, body)
		}
		// No more of the sig than the answer itself held apart from whole
		// sigs: a cut must not leave a prefix of a redacted one.
		msg, seen := err.Error(), oneLine(string(body))
		prefix := sig[:16]
		if strings.Contains(msg, sig) || strings.Count(msg, prefix) > strings.Count(seen, prefix)-strings.Count(seen, sig) {
			t.Fatalf("statusError(%d, %q) = %q: reveals the sig", status, body, err)
		}
	})
}
