// Package monitoring reads the alerts (config/prometheus) and the Grafana
// dashboard (config/grafana) the operator ships, and names the metrics
// their queries read, so a test can hold them to what the manager exports.
package monitoring

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/VictoriaMetrics/metricsql"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"
)

// Rule is one alerting rule of a PrometheusRule.
type Rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Rules decodes a PrometheusRule and checks each rule: an alert name, a
// query that parses, a valid for, a severity and a summary.
func Rules(doc []byte) ([]Rule, error) {
	var pr struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   map[string]any `json:"metadata"`
		Spec       struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []Rule `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(doc, &pr); err != nil {
		return nil, err
	}
	if pr.Kind != "PrometheusRule" {
		return nil, fmt.Errorf("kind %q, want PrometheusRule", pr.Kind)
	}
	var out []Rule
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				return nil, fmt.Errorf("group %s: a rule without an alert name", g.Name)
			}
			if _, err := metricsql.Parse(r.Expr); err != nil {
				return nil, fmt.Errorf("%s: expr: %w", r.Alert, err)
			}
			if r.For != "" {
				if _, err := model.ParseDuration(r.For); err != nil {
					return nil, fmt.Errorf("%s: for: %w", r.Alert, err)
				}
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				return nil, fmt.Errorf("%s: needs labels.severity and annotations.summary", r.Alert)
			}
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no rules")
	}
	return out, nil
}

// DashboardQueries returns the query of every panel target.
func DashboardQueries(doc []byte) ([]string, error) {
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, err
	}
	var out []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			return nil, fmt.Errorf("panel %q has no query", p.Title)
		}
		for _, t := range p.Targets {
			if _, err := metricsql.Parse(t.Expr); err != nil {
				return nil, fmt.Errorf("panel %q: %w", p.Title, err)
			}
			out = append(out, t.Expr)
		}
	}
	return out, nil
}

// MetricNames are the metrics a query reads, as exported: a histogram's
// _bucket, _sum and _count series are named by the histogram.
func MetricNames(query string) ([]string, error) {
	e, err := metricsql.Parse(query)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	metricsql.VisitAll(e, func(x metricsql.Expr) {
		me, ok := x.(*metricsql.MetricExpr)
		if !ok {
			return
		}
		for _, group := range me.LabelFilterss {
			for _, f := range group {
				if f.Label == "__name__" && !f.IsRegexp && !f.IsNegative {
					name := f.Value
					for _, suffix := range []string{"_bucket", "_sum", "_count"} {
						name = strings.TrimSuffix(name, suffix)
					}
					seen[name] = true
				}
			}
		}
	})
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// The shipped alerts and dashboard, relative to the repository root.
const (
	RulesFile     = "config/prometheus/rules.yaml"
	DashboardFile = "config/grafana/spaces-operator-dashboard.json"
)

// Shipped reads the alerts and the dashboard under the repository root and
// returns the rules and every metric their queries read (sorted, once
// each).
func Shipped(root string) ([]Rule, []string, error) {
	rulesDoc, err := os.ReadFile(filepath.Join(root, RulesFile))
	if err != nil {
		return nil, nil, err
	}
	dashDoc, err := os.ReadFile(filepath.Join(root, DashboardFile))
	if err != nil {
		return nil, nil, err
	}
	rules, err := Rules(rulesDoc)
	if err != nil {
		return nil, nil, err
	}
	queries, err := DashboardQueries(dashDoc)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range rules {
		queries = append(queries, r.Expr)
	}
	seen := map[string]bool{}
	var names []string
	for _, q := range queries {
		n, err := MetricNames(q)
		if err != nil {
			return nil, nil, err
		}
		if len(n) == 0 {
			return nil, nil, fmt.Errorf("%q queries no metric", q)
		}
		for _, name := range n {
			if !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return rules, names, nil
}
