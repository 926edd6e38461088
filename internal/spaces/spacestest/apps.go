package spacestest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
)

// AllScopes are the scopes of the seed document's table.
var AllScopes = []string{
	"accounts.users.bulk.write", "spaces.chat.create", "spaces.chat.read", "spaces.create",
	"spaces.create.actas", "spaces.delete", "spaces.direct.create", "spaces.invite.write",
	"spaces.list", "spaces.settings.read", "spaces.settings.write", "spaces.websocket",
	"users.search", "users.search.bulk", "spaces.post.read", "spaces.post.create",
	"spaces.task.read", "spaces.task.create", "spaces.messages.write",
}

// KeyFile is a downloaded credential: the JSON document the developer
// portal's Download Key button gives, and the ids in it.
type KeyFile struct {
	Issuer  string
	Subject string
	KeyID   string
	// JSON is the file's content.
	JSON []byte
	// Key is the private key, for tests that sign their own tokens.
	Key *rsa.PrivateKey
}

// AddServiceApp registers a service app with the scopes given (AllScopes
// when none), its service account, and one key; it returns the key file.
func (s *Server) AddServiceApp(scopes ...string) (*KeyFile, error) {
	if len(scopes) == 0 {
		scopes = AllScopes
	}
	issuer := randomHex(10)
	s.mu.Lock()
	domain := "servicesapps.spaces.avayacloud.com"
	sa := &User{ID: objectID(s.now()), Email: issuer + "@" + randomHex(3) + "." + domain, FirstName: "Service", LastName: "Account", Service: true, Created: s.now()}
	s.state.Users[sa.ID] = sa
	app := &ServiceApp{Issuer: issuer, Subject: sa.Email, UserID: sa.ID, Scopes: append([]string(nil), scopes...), Keys: map[string]*rsa.PublicKey{}}
	s.state.ServiceApps[issuer] = app
	s.mu.Unlock()
	return s.AddKey(issuer)
}

// AddKey registers a new key for the app with issuer (key rotation: add
// the new key, switch, then RevokeKey the old one) and returns its file.
func (s *Server) AddKey(issuer string) (*KeyFile, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	kid := randomHex(10)
	s.mu.Lock()
	defer s.mu.Unlock()
	app, ok := s.state.ServiceApps[issuer]
	if !ok {
		return nil, fmt.Errorf("no service app %q", issuer)
	}
	app.Keys[kid] = &key.PublicKey
	app.KeyIDs = append(app.KeyIDs, kid)
	return newKeyFile(app.Issuer, app.Subject, kid, key), nil
}

// RevokeKey deletes a key in the portal: tokens it signed are refused.
func (s *Server) RevokeKey(kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, app := range s.state.ServiceApps {
		if _, ok := app.Keys[kid]; ok {
			delete(app.Keys, kid)
			for i, k := range app.KeyIDs {
				if k == kid {
					app.KeyIDs = append(app.KeyIDs[:i], app.KeyIDs[i+1:]...)
					break
				}
			}
		}
	}
}

// SetScopes replaces the scopes of the app with issuer.
func (s *Server) SetScopes(issuer string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if app, ok := s.state.ServiceApps[issuer]; ok {
		app.Scopes = append([]string(nil), scopes...)
	}
}

// AddUser creates a company user and returns a copy.
func (s *Server) AddUser(email, firstName, lastName string) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := &User{ID: objectID(s.now()), Email: strings.ToLower(email), FirstName: firstName, LastName: lastName, Created: s.now()}
	s.state.Users[u.ID] = u
	return *u
}

// newKeyFile writes the key file as the portal does: PKCS#1 PEM with \n
// escapes inside the JSON string.
func newKeyFile(iss, sub, kid string, key *rsa.PrivateKey) *KeyFile {
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	doc, _ := json.MarshalIndent(map[string]string{"iss": iss, "sub": sub, "kid": kid, "private_key": strings.TrimSpace(pemText)}, "", "  ")
	return &KeyFile{Issuer: iss, Subject: sub, KeyID: kid, JSON: doc, Key: key}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
