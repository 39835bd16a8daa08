package ccloudsim

import (
	"net/http"
	"testing"
)

func TestRequestLogKeepsTraceParent(t *testing.T) {
	s, _ := newSim(t, Options{})
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	withTrace := func(r *http.Request) { r.Header.Set("traceparent", tp) }
	serve(s, "PATCH", "/networking/v1/peerings/p-demo1", peeringBody, withTrace)
	serve(s, "PATCH", "/networking/v1/peerings/p-demo1", peeringBody)
	got := s.Requests()
	if len(got) != 2 || got[0].TraceParent != tp || got[1].TraceParent != "" {
		t.Fatalf("trace parents in the log: %+v", got)
	}
}
