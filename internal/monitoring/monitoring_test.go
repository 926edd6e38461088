package monitoring_test

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/avayacloud/spaces-operator/internal/controller"
	"github.com/avayacloud/spaces-operator/internal/monitoring"
	"github.com/avayacloud/spaces-operator/internal/spaces"
)

// exported are the names of the metrics the manager's own collectors
// export (controller-runtime's are checked against a running manager in
// test/e2e).
func exported(t *testing.T) map[string]bool {
	t.Helper()
	ch := make(chan *prometheus.Desc, 100)
	spaces.NewMetrics(nil).Describe(ch)
	controller.NewObjectsCollector(nil).Describe(ch)
	for _, c := range controller.Metrics() {
		c.Describe(ch)
	}
	close(ch)
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	out := map[string]bool{}
	for d := range ch {
		if m := fq.FindStringSubmatch(d.String()); m != nil {
			out[m[1]] = true
		}
	}
	return out
}

// TestRulesAndDashboard: the alerts and the dashboard parse, cover what
// they promise, and every metric they query is one the manager exports.
func TestRulesAndDashboard(t *testing.T) {
	rules, names, err := monitoring.Shipped(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, r := range rules {
		alerts = append(alerts, r.Alert)
	}
	for _, want := range []string{"SpacesObjectsStalled", "SpacesAPIErrors", "SpacesAPIRateLimited", "SpacesJWTMintFailures", "SpacesOperatorReconcileErrors"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s", want)
		}
	}
	ours := exported(t)
	used := map[string]bool{}
	for _, n := range names {
		used[n] = true
		switch {
		case strings.HasPrefix(n, "controller_runtime_") || strings.HasPrefix(n, "workqueue_"):
			// controller-runtime's: test/e2e finds them on a running manager
		case !ours[n]:
			t.Errorf("the alerts or dashboard query %s, which the manager does not export", n)
		}
	}
	for _, want := range []string{"spaces_operator_objects", "spaces_api_requests_total", "spaces_api_request_duration_seconds", "spaces_api_throttled_seconds_total", "workqueue_depth", "spaces_jwt_mint_failures_total", "controller_runtime_reconcile_errors_total"} {
		if !used[want] {
			t.Errorf("nothing queries %s", want)
		}
	}
	if names, _ := monitoring.MetricNames(`rate(spaces_no_such_metric_total[5m])`); ours[names[0]] {
		t.Error("the check would pass a metric nobody exports")
	}
	if _, err := monitoring.Rules([]byte("kind: PrometheusRule\nspec: {groups: [{name: g, rules: [{alert: A, expr: 'rate(x[5m]', labels: {severity: info}, annotations: {summary: s}}]}]}")); err == nil {
		t.Error("an expression that does not parse passed")
	}
}
