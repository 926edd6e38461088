package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ServiceAccountUserSetSpec is a set of user accounts in the service
// account's company.
//
// +kubebuilder:validation:XValidation:rule="has(self.passwordSecretName) == has(oldSelf.passwordSecretName) && (!has(self.passwordSecretName) || self.passwordSecretName == oldSelf.passwordSecretName)",message="passwordSecretName is immutable: generated passwords already live in that Secret",fieldPath=.passwordSecretName
// +kubebuilder:validation:XValidation:rule="!(has(self.accountRef) && has(self.credentialsRef))",message="set at most one of accountRef and credentialsRef",fieldPath=.accountRef
type ServiceAccountUserSetSpec struct {
	// users of the company, keyed by email.
	// +required
	// +listType=map
	// +listMapKey=email
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1000
	Users []CompanyUser `json:"users"`

	// passwordSecretName is the Secret, in this namespace, that receives a
	// generated initial password for each user the set creates, one key per
	// email. Default: NAME-passwords. Passwords appear nowhere else.
	// Immutable.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	PasswordSecretName string `json:"passwordSecretName,omitempty"`

	// deletionPolicy says what happens to users dropped from the list or left
	// when the set is deleted: Retain (the default) keeps them; Delete deletes
	// the users this set created (never users it found already existing).
	// +optional
	// +kubebuilder:default=Retain
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// accountRef names the ClusterSpacesAccount whose key the object uses
	// (the platform team's, lent to this namespace). At most one of
	// accountRef and credentialsRef; neither: the operator's default
	// account.
	// +optional
	AccountRef *AccountReference `json:"accountRef,omitempty"`

	// credentialsRef names the Secret in this namespace holding the service-app
	// key file. At most one of credentialsRef and accountRef.
	// +optional
	CredentialsRef *CredentialsReference `json:"credentialsRef,omitempty"`

	// suspend stops every call to Spaces for this object; deletion still
	// honours deletionPolicy.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// CompanyUser is one user account. Fields left out are not managed.
// +kubebuilder:validation:XValidation:rule="(has(self.firstName) ? self.firstName.size() : 0) + (has(self.lastName) ? self.lastName.size() : 0) <= 380",message="firstName and lastName together must be at most 380 characters"
type CompanyUser struct {
	// email of the user, in lower case; its domain must be one of the
	// company's domains.
	// +required
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:XValidation:rule="self == self.lowerAscii()",message="email must be lower case: Spaces matches emails without regard to case, and lower case keeps each user listed once"
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`
	Email string `json:"email"`

	// firstName of the user, without any of the characters Spaces refuses in
	// names: | ~ ! @ # $ % ^ & * ( ) _ + = < > ? : ; , . "
	// +optional
	// +kubebuilder:validation:MaxLength=380
	// +kubebuilder:validation:Pattern=`^[^|~!@#$%^&*()_+=<>?:;,."]*$`
	FirstName string `json:"firstName,omitempty"`

	// lastName of the user, with the same character rules as firstName.
	// +optional
	// +kubebuilder:validation:MaxLength=380
	// +kubebuilder:validation:Pattern=`^[^|~!@#$%^&*()_+=<>?:;,."]*$`
	LastName string `json:"lastName,omitempty"`

	// language of the user as a language tag, for example en or fr-CA.
	// +optional
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:Pattern=`^[a-z]{2,3}([-_][A-Za-z0-9]{2,8})*$`
	Language string `json:"language,omitempty"`

	// workPhone: "+" and 6 to 15 digits.
	// +optional
	// +kubebuilder:validation:Pattern=`^\+[0-9]{6,15}$`
	WorkPhone string `json:"workPhone,omitempty"`

	// cellPhone: "+" and 6 to 15 digits.
	// +optional
	// +kubebuilder:validation:Pattern=`^\+[0-9]{6,15}$`
	CellPhone string `json:"cellPhone,omitempty"`

	// license assigned to the user: Power, Business or None (no Spaces
	// license). Omitted: the license is not managed.
	// +optional
	License License `json:"license,omitempty"`
}

// License is a Spaces license type.
// +kubebuilder:validation:Enum=Power;Business;None
type License string

const (
	LicensePower    License = "Power"
	LicenseBusiness License = "Business"
	LicenseNone     License = "None"
)

// UserState is where one user stands.
// +kubebuilder:validation:Enum=Pending;Created;InSync;Failed;Conflict
type UserState string

const (
	UserPending  UserState = "Pending"
	UserCreated  UserState = "Created"
	UserInSync   UserState = "InSync"
	UserFailed   UserState = "Failed"
	UserConflict UserState = "Conflict"
)

// UserStatus is what the operator knows of one user.
type UserStatus struct {
	// email of the user, as in spec.
	Email string `json:"email"`
	// userID of the user in Spaces.
	// +optional
	UserID string `json:"userID,omitempty"`
	// state: Pending, Created (this set created the user), InSync (an
	// existing user matches the spec), Failed (see message) or Conflict (an
	// older set manages this email).
	// +optional
	State UserState `json:"state,omitempty"`
	// createdBySet is true when this set created the user, which makes the
	// user eligible for deletionPolicy Delete.
	// +optional
	CreatedBySet bool `json:"createdBySet,omitempty"`
	// message explains Failed and Conflict.
	// +optional
	Message string `json:"message,omitempty"`
	// specHash identifies the spec fields last written to Spaces for this
	// user; a user whose spec no longer matches it is updated.
	// +optional
	SpecHash string `json:"specHash,omitempty"`
	// creatingUntil: a create of this user was sent and may still land in
	// Spaces until then (its answer was lost, or has not come yet). The
	// user is not created again before; after it, a user who does not
	// exist never got the create and is created.
	// +optional
	CreatingUntil *metav1.Time `json:"creatingUntil,omitempty"`
}

// ServiceAccountUserSetStatus is what the operator last observed of the users.
type ServiceAccountUserSetStatus struct {
	CommonStatus `json:",inline"`

	// users: one entry per user in spec (and users being deleted).
	// +optional
	// +listType=map
	// +listMapKey=email
	Users []UserStatus `json:"users,omitempty"`

	// ready is the number of users that match the spec.
	// +optional
	Ready int32 `json:"ready"`

	// total is the number of users in spec.
	// +optional
	Total int32 `json:"total"`
}

// ServiceAccountUserSet keeps a set of user accounts in the service account's
// company in step with its spec.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sau,categories=avayaspaces
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Synced",type=integer,JSONPath=`.status.ready`
// +kubebuilder:printcolumn:name="Total",type=integer,JSONPath=`.status.total`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ServiceAccountUserSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the users as they should be in Spaces.
	// +required
	Spec ServiceAccountUserSetSpec `json:"spec"`

	// status is what the operator last observed.
	// Until the operator first writes it, it reads observedGeneration 0,
	// so kstatus and Argo CD see the object as in progress, not current.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status ServiceAccountUserSetStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ServiceAccountUserSetList is a list of ServiceAccountUserSets.
type ServiceAccountUserSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ServiceAccountUserSet `json:"items"`
}
