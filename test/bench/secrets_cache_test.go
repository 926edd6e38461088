// Package bench measures what the manager's cache costs against a real API
// server: the memory Secrets take, which must not grow with what unrelated
// Secrets hold.
package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/avayacloud/spaces-operator/internal/controller"
	"github.com/avayacloud/spaces-operator/internal/testenv"
)

var env *testenv.Environment

func TestMain(m *testing.M) {
	flag.Parse()
	if flag.Lookup("test.bench").Value.String() == "" {
		os.Exit(m.Run()) // no benchmark asked for: no control plane needed
	}
	ctrllog.SetLogger(logr.Discard())
	var err error
	if env, err = testenv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

const unrelatedSecrets = 5000

var seedOnce sync.Once

// seed creates 5,000 unrelated 1 KiB Secrets the way client-side kubectl
// apply does: the whole object, data included, in the last-applied
// annotation, and managedFields of kubectl's manager.
func seed(b *testing.B, c client.Client) {
	seedOnce.Do(func() {
		ctx := context.Background()
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "unrelated"}}); err != nil {
			b.Fatal(err)
		}
		value := make([]byte, 1024)
		for i := range value {
			value[i] = byte('a' + i%26)
		}
		for i := range unrelatedSecrets {
			s := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("unrelated-%05d", i), Namespace: "unrelated"},
				Data:       map[string][]byte{"payload": value}}
			applied, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": s.Name, "namespace": s.Namespace},
				"data": map[string]string{"payload": base64.StdEncoding.EncodeToString(value)}})
			s.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": string(applied)}
			if err := c.Create(ctx, s, client.FieldOwner("kubectl-client-side-apply")); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSecretCache reports the heap one cached Secret costs, with the
// manager's cache options and without its transform.
func BenchmarkSecretCache(b *testing.B) {
	c, err := client.New(env.Config, client.Options{Scheme: clientgoscheme.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	seed(b, c)
	for _, variant := range []struct {
		name string
		opts cache.Options
	}{
		{"operator", controller.CacheOptions(nil, "")},
		{"no-transform", cache.Options{}},
	} {
		b.Run(variant.name, func(b *testing.B) {
			var perSecret float64
			for range b.N {
				perSecret = cachedBytesPerSecret(b, variant.opts)
			}
			b.ReportMetric(perSecret, "B/secret")
		})
	}
}

func cachedBytesPerSecret(b *testing.B, opts cache.Options) float64 {
	opts.Scheme = clientgoscheme.Scheme
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := heap()
	cc, err := cache.New(env.Config, opts)
	if err != nil {
		b.Fatal(err)
	}
	secrets := &metav1.PartialObjectMetadata{}
	secrets.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "Secret"})
	if _, err := cc.GetInformer(ctx, secrets); err != nil {
		b.Fatal(err)
	}
	go func() { _ = cc.Start(ctx) }()
	syncCtx, stop := context.WithTimeout(ctx, 2*time.Minute)
	defer stop()
	if !cc.WaitForCacheSync(syncCtx) {
		b.Fatal("the cache did not sync")
	}
	var list metav1.PartialObjectMetadataList
	list.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "SecretList"})
	if err := cc.List(ctx, &list); err != nil || len(list.Items) < unrelatedSecrets {
		b.Fatalf("%d Secrets cached: %v", len(list.Items), err)
	}
	list = metav1.PartialObjectMetadataList{} // measure the cache, not this copy
	after := heap()
	runtime.KeepAlive(cc)
	return float64(after-before) / unrelatedSecrets
}

func heap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
