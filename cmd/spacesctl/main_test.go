package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
)

func TestSpacesctl(t *testing.T) {
	fake := spacestest.NewServer(t, spacestest.Options{})
	key, err := fake.AddServiceApp()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "service-key.json")
	if err := os.WriteFile(path, key.JSON, 0o600); err != nil {
		t.Fatal(err)
	}
	pemBody := strings.Split(string(key.JSON), `\n`)[2] // a line of the private key's base64

	cases := []struct {
		name      string
		args      []string
		stdin     string
		code      int
		want      string
		wantInErr string
	}{
		{"check-key", []string{"check-key", path}, "", 0, "kid: " + key.KeyID, ""},
		{"check-key from stdin", []string{"check-key", "-"}, string(key.JSON), 0, "RSA 2048 bits", ""},
		{"check-key of a broken file names the field", []string{"check-key", "-"}, `{"iss":"a","sub":"b","kid":"c"}`, 1, "", `field "private_key"`},
		{"whoami", []string{"whoami", "--api-url", fake.URL, path}, "", 0, "username: " + key.Subject, ""},
		{"whoami with a revoked key explains 401", []string{"whoami", "--api-url", fake.URL, "-"}, "", 1, "", "deleted or regenerated"},
		{"unknown command", []string{"frobnicate", path}, "", 2, "", "unknown command"},
		{"no file", []string{"token"}, "", 2, "", "usage"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdin := tc.stdin
			if tc.name == "whoami with a revoked key explains 401" {
				other, _ := fake.AddServiceApp()
				fake.RevokeKey(other.KeyID)
				stdin = string(other.JSON)
			}
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, strings.NewReader(stdin), &out, &errOut)
			if code != tc.code || !strings.Contains(out.String(), tc.want) || !strings.Contains(errOut.String(), tc.wantInErr) {
				t.Fatalf("code %d, stdout %q, stderr %q", code, out.String(), errOut.String())
			}
			if strings.Contains(out.String()+errOut.String(), pemBody) {
				t.Fatal("private key material printed")
			}
		})
	}

	t.Run("token verifies with the public key", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"token", "--lifetime", "10m", path}, nil, &out, &errOut); code != 0 {
			t.Fatalf("%d %s", code, errOut.String())
		}
		claims := jwt.MapClaims{}
		tok, err := jwt.ParseWithClaims(strings.TrimSpace(out.String()), claims, func(*jwt.Token) (any, error) { return &key.Key.PublicKey, nil })
		if err != nil || tok.Header["kid"] != key.KeyID || claims["iss"] != key.Issuer {
			t.Fatalf("%v %v", err, claims)
		}
		if life := claims["exp"].(float64) - claims["iat"].(float64); life != 600 {
			t.Fatalf("lifetime %v s, want 600", life)
		}
	})
}
