// Package storm proves the operator's promises under a storm of crashes:
// the real manager binary is SIGKILLed at random moments while many Spaces
// are created against a standalone fake whose creates are slow (and, in one
// run, whose answers are lost), while 200 people are invited, and while a
// set of 200 users is created; then one clean run must bring everything to
// Ready with exactly one space per Space, nobody invited twice or missed,
// no user created twice and every password in its Secret.
//
// make test runs a small storm; make storm runs the full size (100 kills
// during 200 creates). Sizes come from the environment:
//
//	STORM_SPACES       Spaces created per run (default 30)
//	STORM_KILLS        SIGKILLs per run (default 12)
//	STORM_API_TIMEOUT  the manager's --api-timeout (default 3s)
//	STORM_CLEAN_RUN    how long the clean run may take (default 5m)
//	STORM_PEOPLE       invitees, and users of the user set (default 200)
//	STORM_PEOPLE_KILLS SIGKILLs during invitations and during the user set (default 30)
package storm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/stack"
)

var (
	st  *stack.Stack
	k8s client.Client
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	// envtest logs through controller-runtime; the storm has nothing to say
	// there, but controller-runtime complains when no logger is set.
	ctrllog.SetLogger(logr.Discard())
	var stop func()
	var err error
	var users []string
	for _, prefix := range inviteePrefixes {
		users = append(users, inviteeEmails(prefix, peopleFromEnv())...)
	}
	if st, stop, err = stack.StartInTemp("storm", users...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer stop()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, spacesv1alpha1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	if k8s, err = client.New(st.Env.Config, client.Options{Scheme: scheme}); err != nil {
		panic(err)
	}
	return m.Run()
}

// size is one storm's dimensions.
type size struct {
	spaces, kills int
	apiTimeout    time.Duration
	cleanRun      time.Duration
}

func sizeFromEnv(t *testing.T) size {
	t.Helper()
	s := size{spaces: 30, kills: 12, apiTimeout: 3 * time.Second, cleanRun: 5 * time.Minute}
	for name, dst := range map[string]*int{"STORM_SPACES": &s.spaces, "STORM_KILLS": &s.kills} {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				t.Fatalf("%s=%q: want a positive number", name, v)
			}
			*dst = n
		}
	}
	for name, dst := range map[string]*time.Duration{"STORM_API_TIMEOUT": &s.apiTimeout, "STORM_CLEAN_RUN": &s.cleanRun} {
		if v := os.Getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				t.Fatalf("%s=%q: want a positive duration", name, v)
			}
			*dst = d
		}
	}
	return s
}

// createLatency is how long the fake takes to answer a create: long enough
// that many kills land while a create is in flight.
const createLatency = 1500 * time.Millisecond

func TestStorm_SlowCreates(t *testing.T) {
	storm(t, "slow", fmt.Sprintf(`{"route":"POST /spaces/invite","latency":%d}`, createLatency))
}

func TestStorm_SlowCreatesWithDroppedAnswers(t *testing.T) {
	storm(t, "dropped", fmt.Sprintf(`{"route":"POST /spaces/invite","latency":%d,"dropResponse":true}`, createLatency))
}

// storm creates the Spaces, kills managers among them, then runs one clean
// manager and counts.
func storm(t *testing.T, name, fault string) {
	sz := sizeFromEnv(t)
	ctx := context.Background()
	ns := "storm-" + name
	prepare(t, ns, fault)
	managerArgs := []string{"--api-timeout", sz.apiTimeout.String()}

	prefix := "Storm " + name + " "
	var manifests strings.Builder
	for i := range sz.spaces {
		fmt.Fprintf(&manifests, "---\napiVersion: spaces.avayacloud.com/v1alpha1\nkind: Space\nmetadata: {name: s-%03d}\nspec: {title: %q, credentialsRef: {name: spaces-credentials}}\n", i, fmt.Sprintf("%s%03d", prefix, i))
	}
	if _, err := st.Kubectl(ctx, manifests.String(), "apply", "-n", ns, "-f", "-"); err != nil {
		t.Fatal(err)
	}

	stormThenSettle(t, name, sz.kills, managerArgs, sz.cleanRun, func() (bool, fmt.Stringer) {
		c := count(t, ns, prefix)
		return c.settled(sz.spaces), c
	})
}

// prepare makes the namespace with the fake's key in a Secret, and adds the
// fault (JSON) to the fake for the test's duration.
func prepare(t *testing.T, ns, fault string) {
	t.Helper()
	ctx := context.Background()
	if err := st.CreateCredentials(ctx, ns, "spaces-credentials"); err != nil {
		t.Fatal(err)
	}
	if err := st.AddFaults(ctx, fault); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.ClearFaults(ctx) })
}

// stormThenSettle kills managers kills times, then runs a clean one until
// measure says all is settled or cleanRunTimeout passes, and fails with
// measure's summary if it never is.
func stormThenSettle(t *testing.T, what string, kills int, managerArgs []string, cleanRunTimeout time.Duration, measure func() (bool, fmt.Stringer)) {
	t.Helper()
	stormTook := crashLoop(t, kills, managerArgs)
	var ok bool
	var summary fmt.Stringer
	cleanTook := cleanRun(t, managerArgs, cleanRunTimeout, func() bool {
		ok, summary = measure()
		return ok
	})
	t.Logf("%s: %d kills in %s; clean run %s: %s", what, kills, stormTook.Round(time.Second), cleanTook.Round(time.Second), summary)
	if !ok {
		t.Fatalf("after the clean run: %s", summary)
	}
}

// crashLoop starts the manager kills times, each SIGKILLed at a random
// moment 0.2 to 3 s after its start, and says how long it all took.
func crashLoop(t *testing.T, kills int, managerArgs []string) time.Duration {
	t.Helper()
	start := time.Now()
	for range kills {
		mgr, err := st.StartManager(managerArgs...)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(200*time.Millisecond + rand.N(2800*time.Millisecond)) // the crash's random moment, not a wait for anything
		mgr.Kill()
	}
	return time.Since(start)
}

// cleanRun runs one manager until settled says so or timeout passes,
// polling once a second, and says how long it ran.
func cleanRun(t *testing.T, managerArgs []string, timeout time.Duration, settled func() bool) time.Duration {
	t.Helper()
	mgr, err := st.StartManager(managerArgs...)
	if err != nil {
		t.Fatal(err)
	}
	defer mgr.Stop()
	start := time.Now()
	for deadline := start.Add(timeout); !settled() && time.Now().Before(deadline); {
		time.Sleep(time.Second)
	}
	return time.Since(start)
}

// counts is what the storm left.
type counts struct {
	spaces, duplicates, missing, leaked, notReady, ambiguous, leftovers int
	notReadyReasons                                                     map[string]int
}

func (c counts) settled(want int) bool {
	return c.spaces == want && c.duplicates == 0 && c.missing == 0 && c.leaked == 0 && c.notReady == 0 && c.leftovers == 0
}

func (c counts) String() string {
	return fmt.Sprintf("%d spaces in Spaces, %d duplicates, %d Spaces without a space, %d leaked (claimed by no object), %d objects not Ready %v (%d AmbiguousCreate), %d leftover ids in status",
		c.spaces, c.duplicates, c.missing, c.leaked, c.notReady, c.notReadyReasons, c.ambiguous, c.leftovers)
}

func count(t *testing.T, ns, prefix string) counts {
	t.Helper()
	ctx := context.Background()
	state, err := st.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var list spacesv1alpha1.SpaceList
	if err := k8s.List(ctx, &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	c := counts{notReadyReasons: map[string]int{}}
	perTitle := map[string]int{}
	for _, sp := range state.Spaces {
		if strings.HasPrefix(sp.Title, prefix) {
			c.spaces++
			perTitle[sp.Title]++
		}
	}
	claimed := map[string]bool{}
	for _, sp := range list.Items {
		for _, id := range []string{sp.Status.SpaceID, sp.Annotations[spacesv1alpha1.AnnotationSpaceID]} {
			if id != "" {
				claimed[id] = true
			}
		}
		if n := perTitle[sp.Spec.Title]; n == 0 {
			c.missing++
		} else {
			c.duplicates += n - 1
		}
		c.leftovers += len(sp.Status.LeftoverSpaceIDs)
		if !readyAtGeneration(sp.Status.Conditions, sp.Generation) {
			ready := meta.FindStatusCondition(sp.Status.Conditions, spacesv1alpha1.ConditionReady)
			c.notReady++
			reason := "NoStatus"
			if ready != nil {
				reason = ready.Reason
			}
			c.notReadyReasons[reason]++
			if reason == spacesv1alpha1.ReasonAmbiguousCreate {
				c.ambiguous++
			}
		}
	}
	for id, sp := range state.Spaces {
		if strings.HasPrefix(sp.Title, prefix) && !claimed[id] {
			c.leaked++
		}
	}
	return c
}
