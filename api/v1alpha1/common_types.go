package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// CredentialsReference names the Secret, in the object's own namespace, that
// holds a Spaces service-app key file. There is no namespace field on purpose:
// one team can never spend another team's key.
type CredentialsReference struct {
	// name of the Secret in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// key in the Secret whose value is the key file exactly as downloaded from
	// the Spaces developer portal.
	// +optional
	// +kubebuilder:default="service-key.json"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// DeletionPolicy says what happens in Spaces when the object is deleted.
// +kubebuilder:validation:Enum=Retain;Delete
type DeletionPolicy string

const (
	// DeletionPolicyRetain leaves what exists in Spaces untouched.
	DeletionPolicyRetain DeletionPolicy = "Retain"
	// DeletionPolicyDelete deletes what the object created in Spaces.
	DeletionPolicyDelete DeletionPolicy = "Delete"
)

// Management says whether the operator may write to Spaces for an object.
// +kubebuilder:validation:Enum=Full;ObserveOnly
type Management string

const (
	// ManagementFull: the operator brings Spaces to the spec.
	ManagementFull Management = "Full"
	// ManagementObserveOnly: the operator reads Spaces and reports in
	// status.differences what it would change; it writes nothing to
	// Spaces and never deletes. Switching to Full applies the difference.
	ManagementObserveOnly Management = "ObserveOnly"
)

// CommonStatus is the part of the status every kind shares.
type CommonStatus struct {
	// observedGeneration is the metadata.generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, Reconciling and Stalled, in the kstatus convention.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// GetConditions returns the object's conditions.
func (s *CommonStatus) GetConditions() []metav1.Condition { return s.Conditions }

// SetConditions replaces the object's conditions.
func (s *CommonStatus) SetConditions(c []metav1.Condition) { s.Conditions = c }

// Common returns the shared part of a kind's status (promoted to every
// status type that embeds CommonStatus).
func (s *CommonStatus) Common() *CommonStatus { return s }
