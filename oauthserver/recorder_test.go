package oauthserver

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// recorder is a minimal ResponseWriter for benchmarks (httptest.ResponseRecorder works too,
// but this keeps the benchmark about the server).
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder            { return &recorder{h: http.Header{}} }
func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(status int) { r.status = status }
func (r *recorder) json() map[string]any {
	m := map[string]any{}
	json.Unmarshal(r.body.Bytes(), &m)
	return m
}
