// Command demo runs the whole of spaces-operator on this machine (make demo):
// a real Kubernetes API server (envtest), the fake Spaces, and the manager,
// with config/samples applied, then waits for Ctrl-C and cleans up.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/avayacloud/spaces-operator/internal/stack"
	"github.com/avayacloud/spaces-operator/internal/testenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	root := testenv.RepoRoot()
	dir := flag.String("dir", filepath.Join(root, "bin", "demo"), "Folder for the kubeconfig, key file and logs.")
	timeout := flag.Duration("timeout", 3*time.Minute, "How long to wait for the samples to be Ready.")
	exitWhenReady := flag.Bool("exit-when-ready", false, "Stop once everything is Ready instead of waiting for Ctrl-C.")
	flag.Parse()

	step := func(format string, args ...any) { fmt.Printf("==> "+format+"\n", args...) }
	step("Building the manager and the fake Spaces")
	bins, err := stack.Build(filepath.Join(root, "bin"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(*dir, "processes.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }()

	step("Starting the Kubernetes API server (envtest; built once into bin/k8s/) and the fake Spaces")
	st, err := stack.Start(bins, stack.Options{Dir: *dir, Users: []string{"bob@corp.example", "carol@corp.example"}, Log: logFile})
	if err != nil {
		return err
	}
	defer func() {
		step("Stopping everything")
		st.Stop()
	}()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	step("Storing the fake's service-app key as Secret default/spaces-credentials (a team's own key)")
	if err := st.CreateCredentials(ctx, "default", "spaces-credentials"); err != nil {
		return err
	}
	step("Lending the company key to namespace default: Secret spaces-operator-system/corp-key and ClusterSpacesAccount demo")
	if err := st.CreateCredentials(ctx, operatorNamespace, "corp-key"); err != nil {
		return err
	}
	if _, err := st.Kubectl(ctx, demoAccount, "apply", "-f", "-"); err != nil {
		return err
	}
	step("Starting the manager with --default-account demo (logs: %s)", logPath)
	if _, err := st.StartManager("--resync-period", "30s", "--default-account", "demo", "--operator-namespace", operatorNamespace); err != nil {
		return err
	}
	step("Applying a Space without any credentials reference (the default account's)")
	if _, err := st.Kubectl(ctx, unreferencedSpace, "apply", "-n", "default", "-f", "-"); err != nil {
		return err
	}
	step("Applying config/samples")
	if out, err := st.Kubectl(ctx, "", "apply", "-n", "default", "-k", "config/samples"); err != nil {
		return err
	} else {
		fmt.Print(out)
	}
	step("Waiting for every object to be Ready")
	start := time.Now()
	if _, err := st.Kubectl(ctx, "", "wait", "--for=condition=Ready", "avayaspaces", "--all", "-A", "--timeout="+timeout.String()); err != nil {
		out, _ := st.Kubectl(ctx, "", "get", "avayaspaces", "-A", "-o", "wide")
		return fmt.Errorf("not Ready after %s:\n%s\n(see %s)", *timeout, out, logPath)
	}
	step("All Ready after %s", time.Since(start).Round(100*time.Millisecond))
	out, _ := st.Kubectl(ctx, "", "get", "avayaspaces", "-A", "-o", "wide")
	fmt.Print(out)

	step("What the fake Spaces now holds (%s/_fake/state)", strings.TrimSuffix(st.FakeURL, "/api"))
	state, err := st.State(ctx)
	if err != nil {
		return err
	}
	emails := map[string]string{}
	var users []string
	for id, u := range state.Users {
		emails[id] = u.Email
		if !u.Service {
			users = append(users, u.Email)
		}
	}
	sort.Strings(users)
	for _, sp := range state.Spaces {
		var members []string
		for _, m := range sp.Members {
			members = append(members, emails[m.UserID]+" ("+m.Role+")")
		}
		fmt.Printf("  space %s %q, members: %s\n", sp.ID, sp.Title, strings.Join(members, ", "))
	}
	fmt.Printf("  users: %s\n", strings.Join(users, ", "))

	if *exitWhenReady {
		return nil
	}
	k := st.Env.Kubectl()
	fmt.Printf(`
The stack is up. In another terminal:

  export KUBECONFIG=%s
  alias kubectl=%s
  kubectl get avayaspaces -A -o wide
  kubectl patch space payments --type merge -p '{"spec":{"title":"Payments (renamed)"}}'   # watch the fake follow
  kubectl delete spaceinvite payments-members                                              # Retain: members stay
  kubectl create secret generic spaces-credentials --from-literal=service-key.json=broken \
      --dry-run=client -o yaml | kubectl apply -f -                                        # break the key: Stalled, CredentialsInvalid
  kubectl describe space payments                                                          # conditions and events
  curl -s %s/_fake/state | head -50

Press Ctrl-C to stop and clean up.
`, st.Kubeconfig, k, strings.TrimSuffix(st.FakeURL, "/api"))
	<-ctx.Done()
	return nil
}

const operatorNamespace = "spaces-operator-system"

// demoAccount lends the key in spaces-operator-system/corp-key to namespace
// default only, as a platform team would to a team's namespace.
const demoAccount = `apiVersion: spaces.avayacloud.com/v1alpha1
kind: ClusterSpacesAccount
metadata: {name: demo}
spec:
  secretRef: {namespace: spaces-operator-system, name: corp-key}
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: default}}
  emailDomains: [corp.example]
  allow: {createSpaces: true, deleteSpaces: true, invite: true, manageUsers: true, licenses: [Business]}
`

// unreferencedSpace names no credentials: the default account serves it.
const unreferencedSpace = `apiVersion: spaces.avayacloud.com/v1alpha1
kind: Space
metadata: {name: platform}
spec: {title: Platform Team}
`
