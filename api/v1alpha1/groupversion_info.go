// Package v1alpha1 contains the v1alpha1 API of spaces-operator: Space,
// SpaceInvite and ServiceAccountUserSet, and the cluster-scoped
// ClusterSpacesAccount they may use.
//
// Validation patterns, repeated in markers because markers cannot name Go
// constants: ids are MongoDB ObjectIds (`^[0-9a-f]{24}$`); an email must look
// like one bare address, without a display name (Spaces does the
// authoritative check); phones start with "+" and hold 6 to 15 digits, as
// Spaces requires.
//
// +kubebuilder:object:generate=true
// +groupName=spaces.avayacloud.com
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "spaces.avayacloud.com", Version: "v1alpha1"}

	// SchemeBuilder registers this package's kinds with a runtime.Scheme.
	// It is apimachinery's, so importing the API pulls in nothing else.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds this package's kinds to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&Space{}, &SpaceList{},
		&SpaceInvite{}, &SpaceInviteList{},
		&ServiceAccountUserSet{}, &ServiceAccountUserSetList{},
		&ClusterSpacesAccount{}, &ClusterSpacesAccountList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
