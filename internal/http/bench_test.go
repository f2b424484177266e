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
	"sync/atomic"
	"testing"
	"time"

	"github.com/sextant-dev/sextant"
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

// report200 is a Trivy report of 200 findings on distinct packages in its
// own image.
func report200(i int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"SchemaVersion":2,"CreatedAt":"2026-03-01T12:00:00Z","ArtifactName":"registry.example/bench/svc-%d:1","ArtifactType":"container_image","Metadata":{"ImageID":"sha256:%064x"},"Results":[{"Target":"svc","Class":"os-pkgs","Type":"debian","Vulnerabilities":[`, i, i)
	for j := range 200 {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"VulnerabilityID":"CVE-2024-%d","PkgName":"pkg%d","InstalledVersion":"1.0-%d","FixedVersion":"1.0-%d+deb12u1","Severity":"HIGH","Title":"a vulnerability in pkg%d","Description":"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.","CVSS":{"nvd":{"V3Vector":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H","V3Score":9.8}},"References":["https://nvd.nist.gov/vuln/detail/CVE-2024-%d"]}`, 10000+j, j, j, j, j, 10000+j)
	}
	b.WriteString(`]}]}`)
	return b.Bytes()
}

// BenchmarkReportIntake measures the intake of 200-finding reports pushed
// with an API token, to the 202, into SQLite (workers not running).
func BenchmarkReportIntake(b *testing.B) {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	secret, hash, err := sextant.NewTokenSecret()
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.CreateToken(context.Background(), sextant.Token{Name: "bench", Role: sextant.RoleAnalyst, CreatedBy: "bench"}, hash); err != nil {
		b.Fatal(err)
	}
	api := &sxhttp.Server{Service: service.New(db, audit.NewLog(db), intake.Options{}), Store: db, Tokens: db}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	bodies := make([][]byte, 64)
	for i := range bodies {
		bodies[i] = report200(i)
	}
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := bodies[n.Add(1)%int64(len(bodies))]
			req, _ := http.NewRequest("POST", srv.URL+"/v1/reports", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+secret)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("push = %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(200*float64(b.N)/b.Elapsed().Seconds(), "findings/s")
}
