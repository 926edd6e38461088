// Package spaces is the boundary between the operator and Avaya Spaces: the
// service-app key, JWT minting, and a typed client for the Spaces REST API.
// It knows nothing of Kubernetes.
package spaces

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ServiceKey is a service app's credential, as downloaded from the Spaces
// developer portal (Manage company apps > Credentials > Download Key).
type ServiceKey struct {
	// Issuer is the "iss" of the key file: the service app.
	Issuer string
	// Subject is the "sub" of the key file: the service account.
	Subject string
	// KeyID is the "kid" of the key file: which registered public key
	// verifies our signatures.
	KeyID string
	// PrivateKey signs the JWTs.
	PrivateKey *rsa.PrivateKey
}

// KeyError says which field of a key file is missing or bad. It never
// carries any of the file's content.
type KeyError struct {
	// Field is the key-file field at fault ("" for the file as a whole).
	Field string
	// Problem says what is wrong, in words a user can act on.
	Problem string
}

func (e *KeyError) Error() string {
	if e.Field == "" {
		return "service key file: " + e.Problem
	}
	return fmt.Sprintf("service key file: field %q: %s", e.Field, e.Problem)
}

// keyFile is the JSON document of the downloaded file.
type keyFile struct {
	Iss        *string `json:"iss"`
	Sub        *string `json:"sub"`
	Kid        *string `json:"kid"`
	PrivateKey *string `json:"private_key"`
}

// ParseServiceKey parses a key file. It accepts the file exactly as the
// portal produces it and as people paste it: the PEM in private_key with real
// newlines inside the JSON string (not strictly JSON, but the seed document's
// own example has them), with \n escapes, or a mix; PKCS#1 or PKCS#8; stray
// spaces around iss, sub and kid. Every error is a *KeyError.
func ParseServiceKey(data []byte) (*ServiceKey, error) {
	data = bytes.TrimPrefix(bytes.TrimSpace(data), []byte("\xef\xbb\xbf"))
	if len(data) == 0 {
		return nil, &KeyError{Problem: "the file is empty"}
	}
	var f keyFile
	dec := json.NewDecoder(bytes.NewReader(escapeControlCharsInStrings(data)))
	if err := dec.Decode(&f); err != nil {
		return nil, jsonKeyError(err)
	}
	k := &ServiceKey{}
	var err error
	if k.Issuer, err = requiredString("iss", f.Iss); err != nil {
		return nil, err
	}
	if k.Subject, err = requiredString("sub", f.Sub); err != nil {
		return nil, err
	}
	if k.KeyID, err = requiredString("kid", f.Kid); err != nil {
		return nil, err
	}
	if f.PrivateKey == nil || strings.TrimSpace(*f.PrivateKey) == "" {
		return nil, &KeyError{Field: "private_key", Problem: "missing or empty"}
	}
	if k.PrivateKey, err = parsePrivateKey(*f.PrivateKey); err != nil {
		return nil, err
	}
	return k, nil
}

func requiredString(field string, v *string) (string, error) {
	if v == nil {
		return "", &KeyError{Field: field, Problem: "missing"}
	}
	s := strings.TrimSpace(*v)
	if s == "" {
		return "", &KeyError{Field: field, Problem: "empty"}
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return "", &KeyError{Field: field, Problem: "contains white space"}
	}
	return s, nil
}

// jsonKeyError words a decoding error without quoting the input, which may
// hold key material.
func jsonKeyError(err error) *KeyError {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return &KeyError{Problem: fmt.Sprintf("not valid JSON (at byte %d); it must be the key file exactly as downloaded", syntax.Offset)}
	case errors.As(err, &typ) && typ.Field != "":
		return &KeyError{Field: typ.Field, Problem: "must be a string"}
	case errors.As(err, &typ):
		return &KeyError{Problem: "not a JSON object; it must be the key file exactly as downloaded"}
	default:
		return &KeyError{Problem: "not valid JSON (truncated?); it must be the key file exactly as downloaded"}
	}
}

// escapeControlCharsInStrings turns raw newlines, carriage returns and tabs
// inside JSON string literals into escapes, so that a key file whose PEM was
// pasted with real line breaks still decodes.
func escapeControlCharsInStrings(in []byte) []byte {
	out := make([]byte, 0, len(in)+64)
	inString, escaped := false, false
	for _, c := range in {
		if !inString {
			if c == '"' {
				inString = true
			}
			out = append(out, c)
			continue
		}
		switch {
		case escaped:
			escaped = false
			out = append(out, c)
		case c == '\\':
			escaped = true
			out = append(out, c)
		case c == '"':
			inString = false
			out = append(out, c)
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c == '\t':
			out = append(out, '\\', 't')
		default:
			out = append(out, c)
		}
	}
	return out
}

// parsePrivateKey reads an RSA private key from PEM text. Rather than
// pem.Decode, which needs well-formed lines, it takes the base64 between the
// BEGIN and END lines and drops all white space and literal "\n" escapes,
// which is what copy-pasted keys need.
func parsePrivateKey(text string) (*rsa.PrivateKey, error) {
	text = strings.NewReplacer(`\r`, "\n", `\n`, "\n").Replace(text)
	typ, body, err := pemBody(text)
	if err != nil {
		return nil, err
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
	if err != nil {
		return nil, &KeyError{Field: "private_key", Problem: "the PEM body is not valid base64 (truncated or edited?)"}
	}
	switch typ {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(der)
		if err != nil {
			return nil, &KeyError{Field: "private_key", Problem: "not a valid PKCS#1 RSA private key (truncated or edited?)"}
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return nil, &KeyError{Field: "private_key", Problem: "not a valid PKCS#8 private key (truncated or edited?)"}
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, &KeyError{Field: "private_key", Problem: "not an RSA key; Spaces service apps sign with RS256"}
		}
		return rk, nil
	default:
		return nil, &KeyError{Field: "private_key", Problem: "unsupported PEM block type; want BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY"}
	}
}

const (
	pemBegin = "-----BEGIN "
	pemEnd   = "-----END "
	pemDash  = "-----"
)

// pemBody returns the type and base64 body of the first PEM block in text.
func pemBody(text string) (typ, body string, err error) {
	i := strings.Index(text, pemBegin)
	if i < 0 {
		return "", "", &KeyError{Field: "private_key", Problem: "no -----BEGIN line; it must be a PEM private key"}
	}
	rest := text[i+len(pemBegin):]
	j := strings.Index(rest, pemDash)
	if j < 0 || j > 40 {
		return "", "", &KeyError{Field: "private_key", Problem: "malformed -----BEGIN line"}
	}
	typ = rest[:j]
	rest = rest[j+len(pemDash):]
	end := strings.Index(rest, pemEnd+typ+pemDash)
	if end < 0 {
		return "", "", &KeyError{Field: "private_key", Problem: "no -----END line matching the -----BEGIN line (truncated?)"}
	}
	return typ, rest[:end], nil
}
