// Command spacesctl works with a Spaces service-app key file without pasting
// it into a website:
//
//	spacesctl check-key service-key.json        # parse it offline
//	spacesctl token service-key.json            # mint a JWT (stdout)
//	spacesctl whoami service-key.json           # GET /users/me with it
//	spacesctl probe service-key.json            # read-only: how the API's unknowns turn out
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
	"time"

	"github.com/avayacloud/spaces-operator/internal/spaces"
)

const usage = `usage: spacesctl COMMAND [flags] KEY-FILE

commands:
  check-key   parse the key file offline and describe it (no secrets shown)
  token       mint a service-app JWT and print it
  whoami      call GET /users/me with the key and print the service account
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
