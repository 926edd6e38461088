package controller

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
)

// driftPeriod is how often drift checks come round, by service app: the
// resync period, stretched when the drift share of the app's request
// budget cannot re-read every object once a period (N / (share × qps)).
var driftPeriod = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "spaces_operator_drift_period_seconds",
	Help: "Effective period of the drift checks of a service app's objects: --resync-period, or longer when its drift share of --api-qps cannot re-read them all in that time.",
}, []string{"service_app"})

// Metrics are the collectors the controllers register on the manager's
// registry themselves.
func Metrics() []prometheus.Collector { return []prometheus.Collector{driftPeriod} }

func init() {
	ctrlmetrics.Registry.MustRegister(Metrics()...)
}

// ObjectsCollector exports spaces_operator_objects{kind,ready,stalled,reason}:
// how many objects of each kind are Ready (True), not (False) or not yet
// reported (Unknown), Stalled or not, by the reason of their Ready
// condition. It counts from the manager's cache when scraped, so it costs
// no API calls and is never stale by more than the cache.
type ObjectsCollector struct {
	reader client.Reader
	desc   *prometheus.Desc
}

// NewObjectsCollector returns the collector; reader is the manager's client.
func NewObjectsCollector(reader client.Reader) *ObjectsCollector {
	return &ObjectsCollector{reader: reader, desc: prometheus.NewDesc("spaces_operator_objects",
		"Objects of each kind by the status of their Ready and Stalled conditions and the reason of Ready.", []string{"kind", "ready", "stalled", "reason"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *ObjectsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *ObjectsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for kind, list := range map[string]client.ObjectList{
		"Space": &spacesv1alpha1.SpaceList{}, "SpaceInvite": &spacesv1alpha1.SpaceInviteList{}, "ServiceAccountUserSet": &spacesv1alpha1.ServiceAccountUserSetList{},
	} {
		if err := c.reader.List(ctx, list); err != nil {
			continue // cache not started yet
		}
		type key struct{ ready, stalled, reason string }
		counts := map[key]float64{}
		_ = meta.EachListItem(list, func(o runtime.Object) error {
			ready, stalled, reason := conditionsOf(o)
			counts[key{ready, stalled, reason}]++
			return nil
		})
		for k, n := range counts {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, n, kind, k.ready, k.stalled, k.reason)
		}
	}
}

// conditionsOf is the status of Ready and Stalled and the reason of
// Ready ("" before the first status write).
func conditionsOf(o runtime.Object) (ready, stalled, reason string) {
	var conds []metav1.Condition
	if s := commonStatusOf(o); s != nil {
		conds = s.Conditions
	}
	ready, stalled = string(metav1.ConditionUnknown), string(metav1.ConditionFalse)
	if c := meta.FindStatusCondition(conds, spacesv1alpha1.ConditionReady); c != nil {
		ready, reason = string(c.Status), c.Reason
	}
	if meta.IsStatusConditionTrue(conds, spacesv1alpha1.ConditionStalled) {
		stalled = string(metav1.ConditionTrue)
	}
	return ready, stalled, reason
}
