package tandemtest

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scrape is a parsed /metrics answer.
type Scrape map[string]*dto.MetricFamily

// Metrics scrapes the server's /metrics.
func (s *Server) Metrics(t testing.TB) Scrape {
	t.Helper()
	return ScrapeURL(t, s.URL+"/metrics")
}

// ScrapeURL scrapes a /metrics address.
func ScrapeURL(t testing.TB, url string) Scrape {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: status %d", url, resp.StatusCode)
	}
	sc, err := ParseScrape(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	return sc
}

// ParseScrape reads Prometheus's text format.
func ParseScrape(r io.Reader) (Scrape, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	return Scrape(fams), nil
}

// Value returns the value of the series of family name with exactly the
// labels given as name, value pairs: a counter's or gauge's value, a
// histogram's count of observations. ok is false when there is no such
// series.
func (s Scrape) Value(name string, labels ...string) (v float64, ok bool) {
	f := s[name]
	if f == nil {
		return 0, false
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		match := true
		for _, l := range m.GetLabel() {
			if w, ok := want[l.GetName()]; !ok || w != l.GetValue() {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}
