package http_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sextant-dev/sextant/internal/audit"
	sxhttp "github.com/sextant-dev/sextant/internal/http"
	"github.com/sextant-dev/sextant/internal/intake"
	"github.com/sextant-dev/sextant/internal/service"
	"github.com/sextant-dev/sextant/internal/sqlite"
)

// smallEvent is a one-finding Trivy report naming its own image, so that
// every delivery is a distinct payload.
func smallEvent(i int) []byte {
	return fmt.Appendf(nil, `{"SchemaVersion":2,"CreatedAt":"2026-03-01T12:00:00Z","ArtifactName":"registry.example/bench/app-%d:1","ArtifactType":"container_image",
"Metadata":{"ImageID":"sha256:%064x"},"Results":[{"Target":"app","Class":"os-pkgs","Type":"debian","Vulnerabilities":[
{"VulnerabilityID":"CVE-2024-2961","PkgName":"libc6","InstalledVersion":"2.36-9+deb12u4","FixedVersion":"2.36-9+deb12u7","Severity":"HIGH"}]}]}`, i, i)
}

// BenchmarkWebhookIntake measures the intake of small signed webhook
// deliveries through the real HTTP stack into SQLite, to the 202 (the
// workers do not run: this is the acknowledged-intake path alone).
func BenchmarkWebhookIntake(b *testing.B) {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.Setenv("SEXTANT_BENCH_KEY", webhookKey)
	hook, err := sxhttp.SourceConfig{Name: "bench", Scheme: sxhttp.SchemeHMAC, Secret: sxhttp.SecretRef{Env: "SEXTANT_BENCH_KEY"}}.Load()
	if err != nil {
		b.Fatal(err)
	}
	api := &sxhttp.Server{Service: service.New(db, audit.NewLog(db), intake.Options{}), Store: db, Tokens: db,
		Webhooks: map[string]sxhttp.Config{"bench": hook}}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.SetParallelism(8) // 16 clients on 2 cores, as the load test's concurrency
	b.ResetTimer()
	var n int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(time.Now().UnixNano()) ^ int(n)
			n++
			body := smallEvent(i)
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			req, _ := http.NewRequest("POST", srv.URL+"/v1/webhooks/bench", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Sextant-Timestamp", ts)
			req.Header.Set("X-Sextant-Signature", "sha256="+hex.EncodeToString(sxhttp.Signature([]byte(webhookKey), ts, body)))
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("delivery = %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
