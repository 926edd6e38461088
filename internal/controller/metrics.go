package controller

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
)

// ObjectsCollector exports spaces_operator_objects{kind,ready}: how many
// objects of each kind are Ready (True), not (False) or not yet reported
// (Unknown). It counts from the manager's cache when scraped, so it costs
// no API calls and is never stale by more than the cache.
type ObjectsCollector struct {
	reader client.Reader
	desc   *prometheus.Desc
}

// NewObjectsCollector returns the collector; reader is the manager's client.
func NewObjectsCollector(reader client.Reader) *ObjectsCollector {
	return &ObjectsCollector{reader: reader, desc: prometheus.NewDesc("spaces_operator_objects",
		"Objects of each kind by the status of their Ready condition.", []string{"kind", "ready"}, nil)}
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
		counts := map[metav1.ConditionStatus]float64{metav1.ConditionTrue: 0, metav1.ConditionFalse: 0, metav1.ConditionUnknown: 0}
		_ = meta.EachListItem(list, func(o runtime.Object) error {
			counts[readyOf(o)]++
			return nil
		})
		for status, n := range counts {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, n, kind, string(status))
		}
	}
}

func readyOf(o runtime.Object) metav1.ConditionStatus {
	var conds []metav1.Condition
	switch x := o.(type) {
	case *spacesv1alpha1.Space:
		conds = x.Status.Conditions
	case *spacesv1alpha1.SpaceInvite:
		conds = x.Status.Conditions
	case *spacesv1alpha1.ServiceAccountUserSet:
		conds = x.Status.Conditions
	}
	if c := meta.FindStatusCondition(conds, spacesv1alpha1.ConditionReady); c != nil {
		return c.Status
	}
	return metav1.ConditionUnknown
}
