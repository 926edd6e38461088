package credentials

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	spacesv1alpha1 "github.com/avayacloud/spaces-operator/api/v1alpha1"
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
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		secret("team", "creds", map[string][]byte{"service-key.json": k1.JSON}),
		secret("team", "custom-key", map[string][]byte{"my.json": k1.JSON, "api-url": []byte("https://loganstagingapis.esna.com/api")}),
		secret("team", "empty", map[string][]byte{}),
		secret("team", "broken", map[string][]byte{"service-key.json": []byte(`{"iss":"i","sub":"s","kid":"k","private_key":"-----BEGIN RSA PRIVATE KEY-----\nQUJD\n-----END RSA PRIVATE KEY-----"}`)}),
		secret("ops", "default-creds", map[string][]byte{"service-key.json": k1.JSON}),
	).Build()
	ctx := context.Background()
	def := types.NamespacedName{Namespace: "ops", Name: "default-creds"}
	r := NewResolver(c, c, Options{Default: &def})
	noDefault := NewResolver(c, c, Options{})

	cases := []struct {
		name     string
		r        *Resolver
		ref      *spacesv1alpha1.CredentialsReference
		reason   string
		kid, url string
	}{
		{"own Secret", r, &spacesv1alpha1.CredentialsReference{Name: "creds"}, "", k1.KeyID, "https://spacesapis.avayacloud.com/api"},
		{"own key name and api-url", r, &spacesv1alpha1.CredentialsReference{Name: "custom-key", Key: "my.json"}, "", k1.KeyID, "https://loganstagingapis.esna.com/api"},
		{"default", r, nil, "", k1.KeyID, "https://spacesapis.avayacloud.com/api"},
		{"no default", noDefault, nil, spacesv1alpha1.ReasonCredentialsNotFound, "", ""},
		{"missing Secret", r, &spacesv1alpha1.CredentialsReference{Name: "nope"}, spacesv1alpha1.ReasonCredentialsNotFound, "", ""},
		{"missing key", r, &spacesv1alpha1.CredentialsReference{Name: "empty"}, spacesv1alpha1.ReasonCredentialsNotFound, "", ""},
		{"broken key file", r, &spacesv1alpha1.CredentialsReference{Name: "broken"}, spacesv1alpha1.ReasonCredentialsInvalid, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := tc.r.Resolve(ctx, "team", tc.ref)
			if tc.reason != "" {
				var ce *Error
				if !errors.As(err, &ce) || ce.Reason != tc.reason {
					t.Fatalf("err %v, want reason %s", err, tc.reason)
				}
				if strings.Contains(ce.Message, "QUJD") {
					t.Fatal("key material in the message")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cred.KeyID != tc.kid || cred.Client.BaseURL() != tc.url || cred.Subject != k1.Subject {
				t.Fatalf("kid %s url %s sub %s", cred.KeyID, cred.Client.BaseURL(), cred.Subject)
			}
		})
	}

	t.Run("cached until the Secret changes", func(t *testing.T) {
		ref := &spacesv1alpha1.CredentialsReference{Name: "creds"}
		a, _ := r.Resolve(ctx, "team", ref)
		b, _ := r.Resolve(ctx, "team", ref)
		if a != b {
			t.Fatal("an unchanged Secret was parsed again")
		}
		var s corev1.Secret
		_ = c.Get(ctx, client.ObjectKey{Namespace: "team", Name: "creds"}, &s)
		s.Data["service-key.json"] = k2.JSON
		if err := c.Update(ctx, &s); err != nil {
			t.Fatal(err)
		}
		rotated, err := r.Resolve(ctx, "team", ref)
		if err != nil || rotated == a || rotated.KeyID != k2.KeyID {
			t.Fatalf("after rotation: %+v %v", rotated, err)
		}
	})
}
