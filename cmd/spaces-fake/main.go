// Command spaces-fake serves the in-memory fake of the Avaya Spaces API
// (internal/spaces/spacestest) for the demo, end-to-end tests and
// benchmarks. It registers one service app and writes its key file, ready
// for `kubectl create secret generic --from-file=service-key.json=...`.
//
//	spaces-fake --listen 127.0.0.1:8090 --key-file /tmp/service-key.json
//
// GET /_fake/state dumps the whole state; POST /_fake/faults injects faults.
// --dialect answers the wire format's unknowns the other way (--dialect
// list prints the switches).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "spaces-fake:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. ready, if set, receives the API base URL once
// the fake listens.
func run(ctx context.Context, args []string, out io.Writer, ready func(url string)) error {
	fs := flag.NewFlagSet("spaces-fake", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8090", "Address to listen on (port 0 picks a free one).")
	keyFile := fs.String("key-file", "service-key.json", "Where to write the registered service app's key file (mode 0600).")
	urlFile := fs.String("url-file", "", "Optional file to write the API base URL into, for scripts using port 0.")
	scopes := fs.String("scopes", "", "Comma-separated scopes to grant the service app (default: every scope of the seed's table).")
	domains := fs.String("domains", "corp.example", "Comma-separated email domains of the fake company.")
	users := fs.String("users", "", "Comma-separated emails of company users to create (they can be invited and act-as owners).")
	actAsMember := fs.Bool("act-as-adds-service-account", false, "Spaces created with X-Avaya-Act-As include the service account as admin.")
	dialectFlag := fs.String("dialect", "", "Answer the wire format's unknowns the other way: comma-separated switches, all, or list to print them.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dialectFlag == "list" {
		for _, sw := range spacestest.DialectSwitches {
			fmt.Fprintf(out, "%-24s %s\n", sw.Name, sw.Effect)
		}
		return nil
	}
	dialect, err := spacestest.ParseDialect(*dialectFlag)
	if err != nil {
		return err
	}

	srv := spacestest.New(spacestest.Options{Domains: split(*domains), ActAsAddsServiceAccount: *actAsMember, Dialect: dialect})
	key, err := srv.AddServiceApp(split(*scopes)...)
	if err != nil {
		return err
	}
	for _, email := range split(*users) {
		name, _, _ := strings.Cut(email, "@")
		srv.AddUser(email, strings.ToUpper(name[:1])+name[1:], "Example")
	}
	if err := os.WriteFile(*keyFile, key.JSON, 0o600); err != nil {
		return fmt.Errorf("writing the key file: %w", err)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String() + "/api"
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile, []byte(url+"\n"), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "spaces-fake: serving %s (service app iss %s, kid %s; key file %s; dialect %s)\n", url, key.Issuer, key.KeyID, *keyFile, dialect)
	if ready != nil {
		ready(url)
	}

	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
