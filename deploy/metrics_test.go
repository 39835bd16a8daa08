package deploy_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"gopkg.in/yaml.v3"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/metrics"
)

// Paths of the deployment files, relative to this package (deploy/).
const (
	deployDir     = "."
	rulesFile     = deployDir + "/prometheus/patchbay-rules.yml"
	dashboardsDir = deployDir + "/grafana/dashboards"
	readmeFile    = "../README.md"
)

// exported registers every collector an api or a worker serves on
// /metrics (the process registry with Go and process collectors, intake,
// worker, gate and queue collectors), gives every labelled collector a
// value, and returns the label names of each metric family by name.
func exported(t *testing.T) map[string][]string {
	t.Helper()
	reg := app.NewRegistry()
	in, err := metrics.NewIntake(reg)
	if err != nil {
		t.Fatal(err)
	}
	w, err := metrics.NewWorker(reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := metrics.NewGateClosed(reg, func() bool { return false }); err != nil {
		t.Fatal(err)
	}
	lane := func(context.Context) (metrics.QueueStats, error) {
		return metrics.QueueStats{Changes: 1, Oldest: time.Now(), Lanes: []metrics.LaneStats{{Consumer: "workers"}}}, nil
	}
	if err := metrics.NewQueue(reg, lane, time.Now, time.Second); err != nil {
		t.Fatal(err)
	}
	nm, err := metrics.NewNotify(reg)
	if err != nil {
		t.Fatal(err)
	}
	nm.Preset([]string{"jira"})
	nm.Duration.WithLabelValues("jira").Observe(1)
	in.Preset([]string{"op"})
	in.Requests.WithLabelValues("/r", "200").Inc()
	in.RequestDuration.WithLabelValues("/r").Observe(1)
	w.Preset([]string{"op"}, []string{"reason"})
	w.EndToEnd.WithLabelValues("op", metrics.OutcomeSucceeded).Observe(1)
	w.Upstream.WithLabelValues("op", "200").Inc()
	w.UpstreamDuration.WithLabelValues("op").Observe(1)
	w.GateWait.Observe(1)
	w.SetRateLimitRemaining(1)

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{"up": nil}
	for _, mf := range mfs {
		labels := labelNames(mf)
		out[mf.GetName()] = labels
		if mf.GetType() == dto.MetricType_HISTOGRAM || mf.GetType() == dto.MetricType_SUMMARY {
			out[mf.GetName()+"_sum"] = labels
			out[mf.GetName()+"_count"] = labels
		}
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			out[mf.GetName()+"_bucket"] = append(slices.Clone(labels), "le")
		}
	}
	return out
}

// isTargetLabel reports the labels Prometheus attaches to every scraped series.
func isTargetLabel(l string) bool { return l == "job" || l == "instance" }

func labelNames(mf *dto.MetricFamily) []string {
	var names []string
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if !slices.Contains(names, l.GetName()) {
				names = append(names, l.GetName())
			}
		}
	}
	if mf.GetType() == dto.MetricType_SUMMARY {
		names = append(names, "quantile")
	}
	return names
}

// checkExpr fails unless every metric expr reads is exported with the
// labels its matchers use; it returns the metrics read.
func checkExpr(t *testing.T, where, expr string, exp map[string][]string) []string {
	t.Helper()
	sels, err := selectors(expr)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return nil
	}
	if len(sels) == 0 {
		t.Errorf("%s: expression reads no metric: %s", where, expr)
	}
	var names []string
	for _, s := range sels {
		names = append(names, s.Metric)
		labels, ok := exp[s.Metric]
		if !ok {
			t.Errorf("%s: metric %s is not exported by Patchbay (expr %s)", where, s.Metric, expr)
			continue
		}
		for _, l := range s.Labels {
			if !slices.Contains(labels, l) && !isTargetLabel(l) {
				t.Errorf("%s: metric %s has no label %q (has %v)", where, s.Metric, l, labels)
			}
		}
	}
	return names
}

// rulesDoc is the part of a Prometheus rules file the test reads.
type rulesDoc struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestAlertRulesQueryExportedMetrics(t *testing.T) {
	t.Parallel()
	exp := exported(t)
	data, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc rulesDoc
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(readmeFile)
	if err != nil {
		t.Fatal(err)
	}
	alerts := 0
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: only alerting rules are expected, got %+v", g.Name, r)
				continue
			}
			alerts++
			checkExpr(t, "alert "+r.Alert, r.Expr, exp)
			switch sev := r.Labels["severity"]; sev {
			case "warning", "critical":
			default:
				t.Errorf("alert %s: severity %q, want warning or critical", r.Alert, sev)
			}
			for _, a := range []string{"summary", "description", "runbook", "runbook_url"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("alert %s: no %s annotation", r.Alert, a)
				}
			}
			// The runbook link points at the alert's own section of the README.
			anchor := strings.ToLower(r.Alert)
			if want := "README.md#" + anchor; !strings.HasSuffix(r.Annotations["runbook_url"], want) {
				t.Errorf("alert %s: runbook_url %q does not end with %s", r.Alert, r.Annotations["runbook_url"], want)
			}
			if !regexp.MustCompile(`(?m)^#+ ` + regexp.QuoteMeta(r.Alert) + `\s*$`).Match(readme) {
				t.Errorf("alert %s: README has no heading %q for its runbook", r.Alert, r.Alert)
			}
		}
	}
	if alerts < 6 {
		t.Fatalf("%d alerts, want at least 6", alerts)
	}
}

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Title  string  `json:"title"`
	UID    string  `json:"uid"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource json.RawMessage `json:"datasource"`
	Targets    []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // collapsed rows
}

func TestDashboardsQueryExportedMetrics(t *testing.T) {
	t.Parallel()
	exp := exported(t)
	files, err := filepath.Glob(filepath.Join(dashboardsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in %s: %v", dashboardsDir, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if d.UID == "" || d.Title == "" {
			t.Errorf("%s: no uid or title", f)
		}
		var rows []string
		queried := map[string]bool{}
		var walk func(ps []panel)
		walk = func(ps []panel) {
			for _, p := range ps {
				if p.Type == "row" {
					rows = append(rows, p.Title)
					walk(p.Panels)
					continue
				}
				if len(p.Targets) == 0 {
					t.Errorf("%s: panel %q has no query", f, p.Title)
				}
				if !strings.Contains(string(p.Datasource), "${datasource}") {
					t.Errorf("%s: panel %q does not use the datasource variable", f, p.Title)
				}
				for _, tg := range p.Targets {
					for _, m := range checkExpr(t, f+": panel "+p.Title, tg.Expr, exp) {
						queried[m] = true
					}
				}
			}
		}
		walk(d.Panels)
		if want := []string{"Intake", "Queue", "Upstream & rate limits", "Outcomes & latency", "Notifications"}; !slices.Equal(rows, want) {
			t.Errorf("%s: rows %q, want %q", f, rows, want)
		}
		// Every Patchbay metric is on the dashboard.
		for name := range exp {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
			if !strings.HasPrefix(name, "patchbay_") || base != name {
				continue
			}
			_, isHist := exp[name+"_bucket"]
			if !queried[name] && !(isHist && (queried[name+"_bucket"] || queried[name+"_count"])) {
				t.Errorf("%s: metric %s is on no panel", f, name)
			}
		}
	}
}

func TestGrafanaProvisioningParses(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(deployDir, "grafana", "provisioning", "*", "*.yml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("provisioning files: %v %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			APIVersion  int              `yaml:"apiVersion"`
			Providers   []map[string]any `yaml:"providers"`
			Datasources []map[string]any `yaml:"datasources"`
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if doc.APIVersion != 1 || len(doc.Providers)+len(doc.Datasources) == 0 {
			t.Errorf("%s: not a Grafana provisioning file: %+v", f, doc)
		}
	}
}
