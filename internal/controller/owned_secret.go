package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// ownedSecret reads, around the cache (which holds no Secret data), the
// Secret name in owner's namespace where the operator keeps what must not
// sit in status (generated passwords, join links); or prepares it,
// controlled by owner, so it goes with it. One that exists and is not
// owner's is never touched: the error names field, which chose the name.
func (r *Reconciler) ownedSecret(ctx context.Context, owner client.Object, name, field string) (*corev1.Secret, error) {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: owner.GetNamespace(), Name: name}}
	err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(secret), secret)
	switch {
	case apierrors.IsNotFound(err):
		secret.Labels = map[string]string{"app.kubernetes.io/managed-by": "spaces-operator"}
		if err := controllerutil.SetControllerReference(owner, secret, r.Scheme()); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case !metav1.IsControlledBy(secret, owner):
		kind := "object"
		if gvk, err := apiutil.GVKForObject(owner, r.Scheme()); err == nil {
			kind = gvk.Kind
		}
		return nil, &foreignSecretError{fmt.Sprintf("the Secret %s exists and does not belong to this %s; delete or rename that Secret (%s names it), and the operator carries on by itself", name, kind, field)}
	}
	if secret.Data == nil {
		secret.Data = map[string][]byte{}
	}
	return secret, nil
}

// saveSecret creates or updates a Secret from ownedSecret.
func (r *Reconciler) saveSecret(ctx context.Context, secret *corev1.Secret) error {
	if secret.ResourceVersion == "" {
		return r.Create(ctx, secret)
	}
	return r.Update(ctx, secret)
}

// foreignSecretError: the Secret the operator would write belongs to
// something else; a human moves it out of the way.
type foreignSecretError struct{ msg string }

func (e *foreignSecretError) Error() string { return e.msg }
