package credentials

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
	"github.com/avayacloud/spaces-operator/internal/spaces"
	"github.com/avayacloud/spaces-operator/internal/spaces/spacestest"
)

func secret(ns, name string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
}

func TestResolver(t *testing.T) {
	fakeSpaces := spacestest.New(spacestest.Options{})
	k1, err := fakeSpaces.AddServiceApp()
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := fakeSpaces.AddKey(k1.Issuer)
	// A service inside the cluster that must never hear from the operator.
	var calls atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
	defer internal.Close()
	defer func() {
		if n := calls.Load(); n != 0 {
			t.Errorf("%d requests reached a URL outside --allowed-api-urls", n)
		}
	}()
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = spacesv1alpha1.AddToScheme(scheme)
	account := func(name string, sel *metav1.LabelSelector, apiURL string) *spacesv1alpha1.ClusterSpacesAccount {
		return &spacesv1alpha1.ClusterSpacesAccount{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spacesv1alpha1.ClusterSpacesAccountSpec{
			SecretRef: spacesv1alpha1.SecretKeyReference{Namespace: "ops", Name: "corp-key"}, APIURL: apiURL, NamespaceSelector: sel,
			EmailDomains: []string{"corp.example"}, Allow: spacesv1alpha1.AccountPermissions{CreateSpaces: true}}}
	}
	teamSel := &metav1.LabelSelector{MatchLabels: map[string]string{"spaces.avayacloud.com/account": "corp"}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team", Labels: map[string]string{"spaces.avayacloud.com/account": "corp"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}},
		secret("team", "creds", map[string][]byte{"service-key.json": k1.JSON}),
		secret("team", "custom-key", map[string][]byte{"my.json": k1.JSON, "api-url": []byte("https://loganstagingapis.esna.com/api")}),
		secret("team", "elsewhere", map[string][]byte{"service-key.json": k1.JSON, "api-url": []byte("http://logging.internal:9200/index?x=")}),
		secret("team", "internal", map[string][]byte{"service-key.json": k1.JSON, "api-url": []byte(internal.URL + "/index?x=")}),
		secret("team", "pem", map[string][]byte{"service-key.json": k1.JSON, "api-url": []byte("-----BEGIN RSA PRIVATE KEY-----\nMIIEzqx\n-----END RSA PRIVATE KEY-----")}),
		secret("team", "empty", map[string][]byte{}),
		secret("team", "broken", map[string][]byte{"service-key.json": []byte(`{"iss":"i","sub":"s","kid":"k","private_key":"-----BEGIN RSA PRIVATE KEY-----\nQUJD\n-----END RSA PRIVATE KEY-----"}`)}),
		secret("ops", "corp-key", map[string][]byte{"service-key.json": k1.JSON}),
		account("corp", teamSel, ""),
		account("nobody", nil, ""),
		account("empty-selector", &metav1.LabelSelector{}, ""),
		account("staging", teamSel, "https://loganstagingapis.esna.com/api"),
		account("exfiltrate", teamSel, "https://attacker.example/api"),
	).Build()
	ctx := context.Background()
	r := NewResolver(c, c, Options{DefaultAccount: "corp"})
	noDefault := NewResolver(c, c, Options{})
	own := func(name, key string) Source {
		return Source{CredentialsRef: &spacesv1alpha1.CredentialsReference{Name: name, Key: key}}
	}
	acct := func(name string) Source { return Source{AccountRef: &spacesv1alpha1.AccountReference{Name: name}} }

	cases := []struct {
		name     string
		r        *Resolver
		ns       string
		src      Source
		reason   string
		kid, url string
		account  string
	}{
		{"own Secret", r, "team", own("creds", ""), "", k1.KeyID, spaces.ProductionURL, ""},
		{"own key name and api-url", r, "team", own("custom-key", "my.json"), "", k1.KeyID, spaces.StagingURL, ""},
		{"own api-url outside the allowed URLs", r, "team", own("elsewhere", ""), spacesv1alpha1.ReasonCredentialsInvalid, "", "", ""},
		{"own api-url inside the cluster", r, "team", own("internal", ""), spacesv1alpha1.ReasonCredentialsInvalid, "", "", ""},
		{"own api-url holding a PEM", r, "team", own("pem", ""), spacesv1alpha1.ReasonCredentialsInvalid, "", "", ""},
		{"default account", r, "team", Source{}, "", k1.KeyID, spaces.ProductionURL, "corp"},
		{"default account, namespace not selected", r, "other", Source{}, spacesv1alpha1.ReasonNotAllowed, "", "", ""},
		{"no default", noDefault, "team", Source{}, spacesv1alpha1.ReasonCredentialsNotFound, "", "", ""},
		{"account", r, "team", acct("corp"), "", k1.KeyID, spaces.ProductionURL, "corp"},
		{"account with its own API", r, "team", acct("staging"), "", k1.KeyID, spaces.StagingURL, "staging"},
		{"account API outside the allowed URLs", r, "team", acct("exfiltrate"), spacesv1alpha1.ReasonCredentialsInvalid, "", "", ""},
		{"account without a selector lends to nobody", r, "team", acct("nobody"), spacesv1alpha1.ReasonNotAllowed, "", "", ""},
		{"account with an empty selector lends to nobody", r, "team", acct("empty-selector"), spacesv1alpha1.ReasonNotAllowed, "", "", ""},
		{"missing account", r, "team", acct("nope"), spacesv1alpha1.ReasonCredentialsNotFound, "", "", ""},
		{"missing Secret", r, "team", own("nope", ""), spacesv1alpha1.ReasonCredentialsNotFound, "", "", ""},
		{"missing key", r, "team", own("empty", ""), spacesv1alpha1.ReasonCredentialsNotFound, "", "", ""},
		{"broken key file", r, "team", own("broken", ""), spacesv1alpha1.ReasonCredentialsInvalid, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cred, policy, err := tc.r.Resolve(ctx, tc.ns, tc.src)
			if tc.reason != "" {
				var ce *Error
				if !errors.As(err, &ce) || ce.Reason != tc.reason {
					t.Fatalf("err %v, want reason %s", err, tc.reason)
				}
				for _, secretish := range []string{"QUJD", "logging.internal", "attacker.example", "127.0.0.1", "BEGIN", "MIIEzqx"} {
					if strings.Contains(ce.Message, secretish) {
						t.Fatalf("the message repeats what it refuses: %q", ce.Message)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cred.KeyID != tc.kid || cred.Client.BaseURL() != tc.url || cred.Subject != k1.Subject {
				t.Fatalf("kid %s url %s sub %s", cred.KeyID, cred.Client.BaseURL(), cred.Subject)
			}
			if policy.Account != tc.account || policy.Unrestricted() != (tc.account == "") {
				t.Fatalf("policy %+v, want account %q", policy, tc.account)
			}
		})
	}

	t.Run("cached until the Secret changes", func(t *testing.T) {
		src := own("creds", "")
		a, _, _ := r.Resolve(ctx, "team", src)
		b, _, _ := r.Resolve(ctx, "team", src)
		if a != b {
			t.Fatal("an unchanged Secret was parsed again")
		}
		var s corev1.Secret
		_ = c.Get(ctx, client.ObjectKey{Namespace: "team", Name: "creds"}, &s)
		s.Data["service-key.json"] = k2.JSON
		if err := c.Update(ctx, &s); err != nil {
			t.Fatal(err)
		}
		rotated, _, err := r.Resolve(ctx, "team", src)
		if err != nil || rotated == a || rotated.KeyID != k2.KeyID {
			t.Fatalf("after rotation: %+v %v", rotated, err)
		}
	})

	t.Run("a change that is not the key keeps the client and its tokens", func(t *testing.T) {
		src := own("creds", "")
		before, _, _ := r.Resolve(ctx, "team", src)
		var s corev1.Secret
		_ = c.Get(ctx, client.ObjectKey{Namespace: "team", Name: "creds"}, &s)
		s.Finalizers = append(s.Finalizers, spacesv1alpha1.CredentialsInUseFinalizer)
		s.Labels = map[string]string{"team": "a"}
		if err := c.Update(ctx, &s); err != nil {
			t.Fatal(err)
		}
		after, _, err := r.Resolve(ctx, "team", src)
		if err != nil || after != before {
			t.Fatalf("the in-use finalizer rebuilt the credential (%v)", err)
		}
	})

	t.Run("one budget per service app, whichever Secret holds its key", func(t *testing.T) {
		other, _ := fakeSpaces.AddServiceApp()
		for name, data := range map[string][]byte{"copy-a": k2.JSON, "copy-b": k1.JSON, "other-app": other.JSON} {
			if err := c.Create(ctx, secret("elsewhere", name, map[string][]byte{"service-key.json": data})); err != nil {
				t.Fatal(err)
			}
		}
		limiterOf := func(name string) *spaces.Limiter {
			cred, _, err := r.Resolve(ctx, "elsewhere", own(name, ""))
			if err != nil {
				t.Fatal(err)
			}
			return cred.Client.Limiter()
		}
		if limiterOf("copy-a") != limiterOf("copy-b") {
			t.Error("two Secrets of one service app spend separate budgets")
		}
		if limiterOf("copy-a") == limiterOf("other-app") {
			t.Error("two service apps share a budget")
		}
	})

	t.Run("concurrent first uses build one credential", func(t *testing.T) {
		if err := c.Create(ctx, secret("team", "fresh", map[string][]byte{"service-key.json": k1.JSON})); err != nil {
			t.Fatal(err)
		}
		creds := make([]*Credential, 8)
		var wg sync.WaitGroup
		for i := range creds {
			wg.Add(1)
			go func() { defer wg.Done(); creds[i], _, _ = r.Resolve(ctx, "team", own("fresh", "")) }()
		}
		wg.Wait()
		for _, cr := range creds[1:] {
			if cr == nil || cr != creds[0] {
				t.Fatal("concurrent first uses built several credentials (and would mint several JWTs)")
			}
		}
	})

	t.Run("source keys", func(t *testing.T) {
		for _, tc := range []struct {
			src  Source
			want string
		}{
			{own("creds", ""), "secret:team/creds"},
			{acct("corp"), "account:corp"},
			{Source{}, "account:corp"},
		} {
			if got, ok := r.SourceKey("team", tc.src); !ok || got != tc.want {
				t.Errorf("SourceKey(%+v) = %q, want %q", tc.src, got, tc.want)
			}
		}
		if _, ok := noDefault.SourceKey("team", Source{}); ok {
			t.Error("no default account, yet a source")
		}
	})
}
