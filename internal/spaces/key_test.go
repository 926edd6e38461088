package spaces

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
)

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
)

// rsaKey is one 2048-bit key shared by this package's tests.
func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	testKeyOnce.Do(func() {
		var err error
		if testKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return testKey
}

func pkcs1PEM(k *rsa.PrivateKey) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

func pkcs8PEM(t testing.TB, k any) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// jsonKeyFile renders a key file the way the portal does (\n escapes).
func jsonKeyFile(iss, sub, kid, privateKey string) []byte {
	b, _ := json.Marshal(map[string]string{"iss": iss, "sub": sub, "kid": kid, "private_key": privateKey})
	return b
}

// rawNewlinesKeyFile renders a key file with real line breaks inside the
// private_key string, like the seed document's example.
func rawNewlinesKeyFile(iss, sub, kid, privateKey string) []byte {
	return []byte("{\n  \"iss\": \"" + iss + "\", \n  \"sub\": \"" + sub + "\", \n  \"kid\": \"" + kid + "\", \n  \"private_key\": \"" + strings.TrimSpace(privateKey) + "\"\n}\n")
}

func TestParseServiceKey_Accepts(t *testing.T) {
	k := rsaKey(t)
	p1 := pkcs1PEM(k)
	lines := strings.Split(strings.TrimSpace(p1), "\n")
	// Half the line breaks real, half escaped, as in the seed's example.
	var mixed strings.Builder
	for i, l := range lines {
		mixed.WriteString(l)
		if i < len(lines)-1 {
			if i%2 == 0 {
				mixed.WriteString("\n")
			} else {
				mixed.WriteString(`\n`)
			}
		}
	}
	cases := []struct {
		name string
		file []byte
	}{
		{"pkcs1 with escapes", jsonKeyFile("iss1", "sub1@x.example", "kid1", p1)},
		{"pkcs8 with escapes", jsonKeyFile("iss1", "sub1@x.example", "kid1", pkcs8PEM(t, k))},
		{"pkcs1 with real newlines", rawNewlinesKeyFile("iss1", "sub1@x.example", "kid1", p1)},
		{"pkcs8 with real newlines", rawNewlinesKeyFile("iss1", "sub1@x.example", "kid1", pkcs8PEM(t, k))},
		{"mixed newlines", rawNewlinesKeyFile("iss1", "sub1@x.example", "kid1", mixed.String())},
		{"crlf line breaks", []byte(strings.ReplaceAll(string(rawNewlinesKeyFile("iss1", "sub1@x.example", "kid1", p1)), "\n", "\r\n"))},
		{"double-escaped newlines", []byte(strings.ReplaceAll(string(jsonKeyFile("iss1", "sub1@x.example", "kid1", p1)), `\n`, `\\n`))},
		{"stray spaces in iss, sub and kid", jsonKeyFile(" iss1", " sub1@x.example ", "kid1 ", p1)},
		{"byte order mark and trailing newline", append([]byte("\xef\xbb\xbf"), append(jsonKeyFile("iss1", "sub1@x.example", "kid1", p1), '\n')...)},
		{"key body on one line", jsonKeyFile("iss1", "sub1@x.example", "kid1", "-----BEGIN RSA PRIVATE KEY-----"+strings.Join(lines[1:len(lines)-1], "")+"-----END RSA PRIVATE KEY-----")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseServiceKey(tc.file)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if got.Issuer != "iss1" || got.Subject != "sub1@x.example" || got.KeyID != "kid1" {
				t.Errorf("got iss=%q sub=%q kid=%q", got.Issuer, got.Subject, got.KeyID)
			}
			if !got.PrivateKey.Equal(k) {
				t.Error("the parsed private key differs from the original")
			}
		})
	}
}

func TestParseServiceKey_RefusesNamingTheField(t *testing.T) {
	k := rsaKey(t)
	p1 := pkcs1PEM(k)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	body := strings.Join(strings.Split(strings.TrimSpace(p1), "\n")[1:], "\n")
	cases := []struct {
		name  string
		file  []byte
		field string
	}{
		{"empty file", nil, ""},
		{"not json", []byte("-----BEGIN RSA PRIVATE KEY-----\nMIIE"), ""},
		{"json array", []byte(`["iss"]`), ""},
		{"truncated json", jsonKeyFile("i", "s", "k", p1)[:200], ""},
		{"iss missing", []byte(`{"sub":"s","kid":"k","private_key":"x"}`), "iss"},
		{"iss blank", jsonKeyFile("  ", "s", "k", p1), "iss"},
		{"iss not a string", []byte(`{"iss":5,"sub":"s","kid":"k","private_key":"x"}`), "iss"},
		{"sub missing", []byte(`{"iss":"i","kid":"k","private_key":"x"}`), "sub"},
		{"sub with inner space", jsonKeyFile("i", "s s", "k", p1), "sub"},
		{"kid missing", []byte(`{"iss":"i","sub":"s","private_key":"x"}`), "kid"},
		{"private_key missing", []byte(`{"iss":"i","sub":"s","kid":"k"}`), "private_key"},
		{"private_key empty", jsonKeyFile("i", "s", "k", ""), "private_key"},
		{"private_key not PEM", jsonKeyFile("i", "s", "k", "MIIEogIBAAKCAQEAzA"), "private_key"},
		{"private_key without END", jsonKeyFile("i", "s", "k", p1[:300]), "private_key"},
		{"private_key truncated body", jsonKeyFile("i", "s", "k", "-----BEGIN RSA PRIVATE KEY-----\n"+body[:400]+"\n-----END RSA PRIVATE KEY-----"), "private_key"},
		{"private_key bad base64", jsonKeyFile("i", "s", "k", "-----BEGIN RSA PRIVATE KEY-----\n!!!!\n-----END RSA PRIVATE KEY-----"), "private_key"},
		{"private_key EC", jsonKeyFile("i", "s", "k", pkcs8PEM(t, ec)), "private_key"},
		{"private_key PKCS#8 labelled PKCS#1", jsonKeyFile("i", "s", "k", strings.ReplaceAll(pkcs8PEM(t, k), "PRIVATE KEY", "RSA PRIVATE KEY")), "private_key"},
		{"private_key a certificate", jsonKeyFile("i", "s", "k", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"), "private_key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseServiceKey(tc.file)
			var ke *KeyError
			if !errors.As(err, &ke) {
				t.Fatalf("want a *KeyError, got %v", err)
			}
			if ke.Field != tc.field {
				t.Errorf("field = %q, want %q (%v)", ke.Field, tc.field, err)
			}
			assertNoKeyMaterial(t, err.Error(), body)
		})
	}
}

// TestParseServiceKey_SeedExample: the seed document's example key file is
// truncated; it must be refused cleanly, naming private_key.
func TestParseServiceKey_SeedExample(t *testing.T) {
	data, err := os.ReadFile("testdata/seed-example-service-key.json")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseServiceKey(data)
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Field != "private_key" {
		t.Fatalf("want a *KeyError on private_key, got %v", err)
	}
	s := string(data)
	assertNoKeyMaterial(t, err.Error(), s[strings.Index(s, "-----BEGIN"):strings.Index(s, "-----END")])
}

// assertNoKeyMaterial fails if msg repeats any 8 characters of the key body.
func assertNoKeyMaterial(t *testing.T, msg, keyText string) {
	t.Helper()
	body := strings.Join(strings.Fields(keyText), "")
	for i := 0; i+8 <= len(body); i++ {
		chunk := body[i : i+8]
		if strings.Trim(chunk, "-ABCDEFGHIJKLMNOPQRSTUVWXYZ ") == "" {
			continue // PEM armour such as "-----BEGIN RSA", not secret
		}
		if strings.Contains(msg, chunk) {
			t.Fatalf("error message %q contains key material %q", msg, chunk)
		}
	}
}

// FuzzParseServiceKey: whatever the input, the parser returns a key or a
// *KeyError, never panics, and never echoes the private key's base64.
func FuzzParseServiceKey(f *testing.F) {
	k := rsaKey(f)
	p1 := pkcs1PEM(k)
	seed, _ := os.ReadFile("testdata/seed-example-service-key.json")
	f.Add(seed)
	f.Add(jsonKeyFile("i", "s", "k", p1))
	f.Add(rawNewlinesKeyFile("i", "s", "k", p1))
	f.Add(jsonKeyFile("i", "s", "k", pkcs8PEM(f, k)))
	f.Add([]byte(`{"iss":"i","sub":"s","kid":"k","private_key":"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----"}`))
	f.Add([]byte(`{"private_key":"\`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := ParseServiceKey(data)
		if err == nil {
			if key == nil || key.PrivateKey == nil || key.Issuer == "" || key.Subject == "" || key.KeyID == "" {
				t.Fatalf("accepted an incomplete key: %+v", key)
			}
			return
		}
		var ke *KeyError
		if !errors.As(err, &ke) {
			t.Fatalf("not a *KeyError: %v", err)
		}
		var f keyFile
		if json.Unmarshal(escapeControlCharsInStrings(data), &f) == nil && f.PrivateKey != nil {
			if pk := strings.TrimSpace(*f.PrivateKey); len(pk) >= 16 && strings.Contains(err.Error(), pk[len(pk)/2:]) {
				t.Fatalf("error echoes private_key: %v", err)
			}
		}
	})
}
