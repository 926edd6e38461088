// Command spacesctl works with a Spaces service-app key file without pasting
// it into a website:
//
//	spacesctl check-key service-key.json        # parse it offline
//	spacesctl token service-key.json            # mint a JWT (stdout)
//	spacesctl whoami service-key.json           # GET /users/me with it
//	spacesctl probe service-key.json            # read-only: how the API's unknowns turn out
//	spacesctl export -members service-key.json  # Space and SpaceInvite manifests of existing spaces
//
// FILE may be - for standard input. Nothing but the token itself, on
// request, ever prints key material.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"github.com/avayacloud/spaces-operator/internal/export"
	"github.com/avayacloud/spaces-operator/internal/spaces"
)

const usage = `usage: spacesctl COMMAND [flags] KEY-FILE

commands:
  check-key   parse the key file offline and describe it (no secrets shown)
  token       mint a service-app JWT and print it
  whoami      call GET /users/me with the key and print the service account
  export      write a Space manifest (and with -members a SpaceInvite) for each space the key's
              service account administers: spec.spaceID, title, description, settings; no secret
              flags: -title REGEX -members -namespace NS -account NAME | -credentials SECRET
  probe       read-only calls that report how this server answers each unknown of the wire format

KEY-FILE is the file from the developer portal's Download Key button, or - for stdin.
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd := args[0]
	fs := flag.NewFlagSet("spacesctl "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	audience := fs.String("audience", spaces.DefaultAudience, "aud claim of the token.")
	lifetime := fs.Duration("lifetime", spaces.DefaultTokenLifetime, "Token lifetime (at most 55m: 3600 s minus a clock-skew margin).")
	apiURL := fs.String("api-url", spaces.ProductionURL, "Spaces API base URL (staging: "+spaces.StagingURL+").")
	timeout := fs.Duration("timeout", 30*time.Second, "Timeout of the whole command.")
	title := fs.String("title", "", "export: only spaces whose title matches this regular expression.")
	members := fs.Bool("members", false, "export: also a SpaceInvite per space with its current members.")
	namespace := fs.String("namespace", "default", "export: namespace of the objects written.")
	account := fs.String("account", "", "export: the ClusterSpacesAccount the objects use (spec.accountRef).")
	credentials := fs.String("credentials", "", "export: the Secret in the namespace holding the key (spec.credentialsRef).")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	key, err := readKey(fs.Arg(0), stdin)
	if err != nil {
		fmt.Fprintln(stderr, "spacesctl:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	tokens := spaces.NewTokenSource(key, spaces.TokenOptions{Audience: *audience, Lifetime: *lifetime})

	switch cmd {
	case "check-key":
		fmt.Fprintf(stdout, "iss: %s\nsub: %s\nkid: %s\nkey: RSA %d bits\nThe key file is usable.\n", key.Issuer, key.Subject, key.KeyID, key.PrivateKey.N.BitLen())
	case "token":
		tok, err := tokens.Token(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "spacesctl:", err)
			return 1
		}
		fmt.Fprintln(stdout, tok)
	case "whoami":
		c, err := spaces.NewClient(*apiURL, tokens, spaces.ClientOptions{MaxRetries: -1})
		if err != nil {
			fmt.Fprintln(stderr, "spacesctl:", err)
			return 1
		}
		me, err := c.Me(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "spacesctl:", err)
			return 1
		}
		fmt.Fprintf(stdout, "id: %s\nusername: %s\ndisplay name: %s\n", me.ID, me.Username, me.Displayname)
	case "export":
		opts := export.Options{Namespace: *namespace, Members: *members, AccountRef: *account, CredentialsRef: *credentials}
		if *title != "" {
			re, err := regexp.Compile(*title)
			if err != nil {
				fmt.Fprintln(stderr, "spacesctl: -title:", err)
				return 2
			}
			opts.Title = re
		}
		c, err := spaces.NewClient(*apiURL, tokens, spaces.ClientOptions{})
		if err != nil {
			fmt.Fprintln(stderr, "spacesctl:", err)
			return 1
		}
		res, err := export.Export(ctx, c, opts)
		if err != nil {
			fmt.Fprintln(stderr, "spacesctl:", spaces.Sanitize(err.Error()))
			return 1
		}
		_, _ = stdout.Write(res.YAML)
		for _, why := range res.Skipped {
			fmt.Fprintln(stderr, "spacesctl: not exported:", why)
		}
		fmt.Fprintf(stderr, "spacesctl: exported %d spaces\n", res.Spaces)
	case "probe":
		c, err := spaces.NewClient(*apiURL, tokens, spaces.ClientOptions{MaxRetries: -1})
		if err != nil {
			fmt.Fprintln(stderr, "spacesctl:", err)
			return 1
		}
		if err := probe(ctx, c, stdout); err != nil {
			fmt.Fprintln(stderr, "spacesctl:", spaces.Sanitize(err.Error()))
			return 1
		}
	default:
		fmt.Fprintf(stderr, "spacesctl: unknown command %q\n%s", cmd, usage)
		return 2
	}
	return 0
}

func readKey(path string, stdin io.Reader) (*spaces.ServiceKey, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	return spaces.ParseServiceKey(data)
}
