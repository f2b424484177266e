package service

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sextant-dev/sextant"
)

// Metrics are the service's Prometheus metrics. A nil *Metrics counts
// nothing, so that the service runs without them.
type Metrics struct {
	intake        *prometheus.CounterVec
	refused       *prometheus.CounterVec
	intakeBytes   prometheus.Counter
	intakeFinds   prometheus.Counter
	intakeLatency prometheus.Histogram
	queueDepth    *prometheus.GaugeVec
	jobs          *prometheus.CounterVec
	jobLatency    prometheus.Histogram
	inFlight      prometheus.Gauge
	errors        *prometheus.CounterVec
	HTTP          *prometheus.HistogramVec
}

// NewMetrics makes the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		intake: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sextant_intake_payloads_total", Help: "Payloads accepted for intake (answered 202), by source.",
		}, []string{"source"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sextant_intake_refused_total", Help: "Payloads refused at intake, by error code.",
		}, []string{"code"}),
		intakeBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sextant_intake_bytes_total", Help: "Bytes of accepted payloads.",
		}),
		intakeFinds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sextant_intake_findings_total", Help: "Findings in accepted payloads.",
		}),
		intakeLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sextant_intake_seconds", Help: "Time from receiving a payload to its commit.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sextant_queue_ingests", Help: "Ingests by status (queued is the queue depth; failed the dead letter).",
		}, []string{"status"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sextant_jobs_total", Help: "Ingest jobs run, by outcome (done, retried, failed).",
		}, []string{"outcome"}),
		jobLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sextant_job_seconds", Help: "Time to process one ingest.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 12),
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sextant_jobs_in_flight", Help: "Ingests being processed by this replica's workers.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sextant_errors_total", Help: "Errors, by code or the step that failed.",
		}, []string{"code"}),
		HTTP: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sextant_http_request_seconds", Help: "HTTP requests by route and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "code"}),
	}
	reg.MustRegister(m.intake, m.refused, m.intakeBytes, m.intakeFinds, m.intakeLatency,
		m.queueDepth, m.jobs, m.jobLatency, m.inFlight, m.errors, m.HTTP)
	return m
}

func (m *Metrics) intakeAccepted(source string, findings, size int, took time.Duration) {
	if m == nil {
		return
	}
	m.intake.WithLabelValues(source).Inc()
	m.intakeFinds.Add(float64(findings))
	m.intakeBytes.Add(float64(size))
	m.intakeLatency.Observe(took.Seconds())
}

func (m *Metrics) intakeRefused(code string) {
	if m == nil {
		return
	}
	m.refused.WithLabelValues(code).Inc()
}

// Error counts an error by code (see sextant.Error) or step.
func (m *Metrics) error(code string) {
	if m == nil {
		return
	}
	m.errors.WithLabelValues(code).Inc()
}

// CountError counts an error answered by the HTTP layer.
func (m *Metrics) CountError(code string) { m.error(code) }

func (m *Metrics) jobStarted() {
	if m != nil {
		m.inFlight.Inc()
	}
}

func (m *Metrics) jobFinished() {
	if m != nil {
		m.inFlight.Dec()
	}
}

func (m *Metrics) job(outcome string, took time.Duration) {
	if m == nil {
		return
	}
	m.jobs.WithLabelValues(outcome).Inc()
	m.jobLatency.Observe(took.Seconds())
}

func (m *Metrics) queue(counts map[sextant.IngestStatus]int) {
	for st, n := range counts {
		m.queueDepth.WithLabelValues(string(st)).Set(float64(n))
	}
}
