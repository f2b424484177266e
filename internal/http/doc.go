// Package http is sextant's HTTP layer: the one table that turns
// application error codes into HTTP statuses and JSON error bodies, and the
// authentication of webhook deliveries from CNAPPs and scanners.
//
// It depends only on the standard library and the root package. The service
// in cmd/sextant mounts its handlers; the config file schema lives there too
// and is mapped into SourceConfig.
//
// Every error answer has the shape
//
//	{"error":{"code":"unauthorized","message":"missing X-Sextant-Signature header"}}
//
// with Content-Type application/json. Internal errors never show their text.
package http
