// Command manager runs spaces-operator: the controllers that keep Avaya
// Spaces in step with Space, SpaceInvite and ServiceAccountUserSet objects.
// It only wires things together; behaviour lives in internal/.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	zaplib "go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/controller"
	"github.com/avayacloud/spaces-operator/internal/credentials"
	"github.com/avayacloud/spaces-operator/internal/events"
	"github.com/avayacloud/spaces-operator/internal/memlimit"
	"github.com/avayacloud/spaces-operator/internal/metricsauth"
	"github.com/avayacloud/spaces-operator/internal/spaces"

	// The image holds the binary alone, no certificate store: the public
	// CA roots are compiled in, used when the system has none.
	_ "golang.org/x/crypto/x509roots/fallback"
)

func main() {
	var (
		metricsAddr    string
		metricsSecure  bool
		probeAddr      string
		pprofAddr      string
		leaderElect    bool
		leaderLockNS   string
		apiURL         string
		defaultAccount string
		allowedURLs    string
		resync         time.Duration
		apiQPS         float64
		apiBurst       int
		driftShare     float64
		maxConcurrent  int
		requestTimeout time.Duration
		watchNS        string
		operatorNS     string
		verifyCerts    string
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "Address the Prometheus metrics endpoint binds to; 0 disables it.")
	flag.BoolVar(&metricsSecure, "metrics-secure", true, "Serve metrics over HTTPS, only to callers the API server authenticates and allows (the metrics-reader ClusterRole); false: plain HTTP for anyone.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz probes bind to.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "0", "Address Go's /debug/pprof profiles are served on, for measuring; 0 (the default) disables them.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader so that only one replica reconciles at a time.")
	flag.StringVar(&leaderLockNS, "leader-election-namespace", "", "Namespace of the leader-election Lease (default: the manager's own namespace).")
	flag.StringVar(&apiURL, "api-url", spaces.ProductionURL, "Spaces API base URL; a credentials Secret's api-url key or an account's spec.apiURL overrides it (staging: "+spaces.StagingURL+").")
	flag.StringVar(&allowedURLs, "allowed-api-urls", spaces.ProductionURL+","+spaces.StagingURL, "Comma-separated Spaces API base URLs the operator may call (--api-url always may); any other in a Secret or account is refused.")
	flag.StringVar(&defaultAccount, "default-account", "", "ClusterSpacesAccount of objects with neither spec.accountRef nor spec.credentialsRef (still bound by its namespaceSelector).")
	flag.DurationVar(&resync, "resync-period", controller.DefaultResyncPeriod, "How often a Ready object is checked for drift (jittered by ±10%).")
	flag.Float64Var(&apiQPS, "api-qps", spaces.DefaultQPS, "Average Spaces requests per second per credential, shared by all controllers.")
	flag.IntVar(&apiBurst, "api-burst", spaces.DefaultBurst, "Burst of Spaces requests per credential.")
	flag.Float64Var(&driftShare, "drift-share", spaces.DefaultDriftShare, "Share (0-1] of each service app's --api-qps that drift checks of objects already in step may use; the rest is kept for new and changed objects. When it cannot re-read every object once a --resync-period, the period stretches (metric spaces_operator_drift_period_seconds, and a log line).")
	flag.IntVar(&maxConcurrent, "max-concurrent-reconciles", 4, "Objects of one kind reconciled at once.")
	flag.DurationVar(&requestTimeout, "api-timeout", spaces.DefaultRequestTimeout, "Timeout of each Spaces request.")
	flag.StringVar(&watchNS, "watch-namespaces", "", "Comma-separated namespaces to watch (default: all); run one manager per shard of namespaces.")
	flag.StringVar(&operatorNS, "operator-namespace", os.Getenv("POD_NAMESPACE"), "Namespace of the accounts' key Secrets (default: $POD_NAMESPACE); with --watch-namespaces its Secrets are watched too, so they carry the in-use finalizer.")
	flag.StringVar(&verifyCerts, "verify-certificates", "", "Verify each certificate in this PEM file against the CA roots the manager trusts (the system's, else the compiled-in public roots), print the results and exit: checks an image's trust offline.")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	if verifyCerts != "" {
		os.Exit(verifyCertificates(verifyCerts, os.Stdout))
	}
	if driftShare <= 0 || driftShare > 1 {
		fmt.Fprintf(os.Stderr, "--drift-share=%v: must be above 0 and at most 1\n", driftShare)
		os.Exit(2)
	}

	// client-go logs request and response bodies from verbosity 8 on, which
	// for Secrets means key files and passwords (base64): never go past 5.
	if lvl, ok := zapOpts.Level.(zaplib.AtomicLevel); ok && lvl.Level() < -controller.MaxLogVerbosity {
		lvl.SetLevel(zapcore.Level(-controller.MaxLogVerbosity))
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")
	if limit := memlimit.Set("/sys/fs/cgroup", "/proc/self/exe"); limit > 0 {
		log.Info("Go memory limit set from the container's", "bytes", limit)
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(spacesv1alpha1.AddToScheme(scheme))

	cacheOpts := controller.CacheOptions(splitList(watchNS), operatorNS)

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                        scheme,
		Cache:                         cacheOpts,
		LeaderElectionReleaseOnCancel: true,
		Metrics:                       metricsOptions(metricsAddr, metricsSecure),
		// Shutdown waits for reconciles in flight, a Spaces request among
		// them; the Deployment's grace period is longer than this plus
		// one --api-timeout.
		GracefulShutdownTimeout: ptrTo(30 * time.Second),
		HealthProbeBindAddress:  probeAddr,
		PprofBindAddress:        pprofAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        "spaces-operator.spaces.avayacloud.com",
		LeaderElectionNamespace: leaderLockNS,
	})
	if err != nil {
		log.Error(err, "Unable to create the manager")
		os.Exit(1)
	}
	ctx := ctrl.SetupSignalHandler()
	resolver := credentials.NewResolver(mgr.GetClient(), mgr.GetAPIReader(), credentials.Options{
		DefaultAccount: defaultAccount,
		APIURL:         apiURL,
		AllowedAPIURLs: splitList(allowedURLs),
		QPS:            apiQPS,
		Burst:          apiBurst,
		DriftShare:     driftShare,
		Metrics:        spaces.NewMetrics(ctrlmetrics.Registry),
		ClientOptions:  spaces.ClientOptions{RequestTimeout: requestTimeout, UserAgent: "spaces-operator"},
	})
	if err := controller.SetupIndexes(ctx, mgr, resolver); err != nil {
		log.Error(err, "Unable to set up the field indexes")
		os.Exit(1)
	}
	recorder, err := events.NewRecorder(ctx, mgr.GetClient(), scheme, "spaces-operator")
	if err != nil {
		log.Error(err, "Unable to start the event recorder")
		os.Exit(1)
	}
	base := controller.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Credentials: resolver,
		Recorder: recorder, ResyncPeriod: resync, MaxConcurrentReconciles: maxConcurrent}
	for name, r := range map[string]interface{ SetupWithManager(ctrl.Manager) error }{
		"Space":                 &controller.SpaceReconciler{Reconciler: base},
		"SpaceInvite":           &controller.SpaceInviteReconciler{Reconciler: base},
		"ServiceAccountUserSet": &controller.ServiceAccountUserSetReconciler{Reconciler: base},
		"credentials":           &controller.CredentialsReconciler{Client: mgr.GetClient(), Credentials: resolver},
		"ClusterSpacesAccount":  &controller.ClusterSpacesAccountReconciler{Reconciler: base},
	} {
		if err := r.SetupWithManager(mgr); err != nil {
			log.Error(err, "Unable to set up a controller", "controller", name)
			os.Exit(1)
		}
	}
	ctrlmetrics.Registry.MustRegister(controller.NewObjectsCollector(mgr.GetClient()))
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "Unable to add the health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		log.Error(err, "Unable to add the readiness check")
		os.Exit(1)
	}

	log.Info("Starting the manager")
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "The manager stopped with an error")
		os.Exit(1)
	}
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// metricsOptions serves metrics the kubebuilder v4 way: HTTPS (a
// self-signed certificate unless one is mounted) behind the API server's
// authentication and authorization.
func metricsOptions(addr string, secure bool) metricsserver.Options {
	opts := metricsserver.Options{BindAddress: addr, SecureServing: secure}
	if secure {
		opts.FilterProvider = metricsauth.Provider
	}
	return opts
}

func ptrTo[T any](v T) *T { return &v }
