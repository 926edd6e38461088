package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ClusterSpacesAccountSpec lends a company's service-app key to the
// namespaces it selects, within limits: the way cert-manager's
// ClusterIssuer or external-secrets' ClusterSecretStore lend theirs. The key
// stays in a Secret the teams cannot read; objects name the account with
// spec.accountRef.
type ClusterSpacesAccountSpec struct {
	// secretRef names the Secret holding the key file, typically in the
	// operator's own namespace, where the teams have no access.
	// +required
	SecretRef SecretKeyReference `json:"secretRef"`

	// apiURL is the Spaces API the account calls; it must be one of the
	// manager's --allowed-api-urls. Omitted: the manager's --api-url.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s]+$`
	APIURL string `json:"apiURL,omitempty"`

	// namespaceSelector chooses the namespaces whose objects may use the
	// account, by their labels. Omitted or empty: no namespace (an account
	// is lent explicitly; to lend it to every namespace, select on
	// kubernetes.io/metadata.name with operator Exists).
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// emailDomains are the domains that invitees, owners and users of the
	// objects using the account must be in (e.g. corp.example). Omitted or
	// empty: any domain.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$`
	EmailDomains []string `json:"emailDomains,omitempty"`

	// allow lists what the objects using the account may do; everything
	// not set is refused (Stalled, reason NotAllowed, naming the account
	// and the rule).
	// +optional
	Allow AccountPermissions `json:"allow,omitempty"`
}

// SecretKeyReference names a key of a Secret in any namespace. Only a
// ClusterSpacesAccount, which cluster administrators write, has one.
type SecretKeyReference struct {
	// namespace of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace"`

	// name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// key in the Secret whose value is the key file exactly as downloaded
	// from the Spaces developer portal.
	// +optional
	// +kubebuilder:default="service-key.json"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	Key string `json:"key,omitempty"`
}

// AccountPermissions is what objects using an account may do. All false
// unless set.
type AccountPermissions struct {
	// createSpaces: Spaces without spec.spaceID create spaces.
	// +optional
	CreateSpaces bool `json:"createSpaces,omitempty"`

	// adoptSpaces: a Space may manage a space it did not create
	// (spec.spaceID), and a SpaceInvite may name a space (spec.spaceID) that
	// no Space in its own namespace manages.
	// +optional
	AdoptSpaces bool `json:"adoptSpaces,omitempty"`

	// deleteSpaces: deletionPolicy Delete deletes the spaces the objects
	// created; an adopted space only when adoptSpaces is also true.
	// +optional
	DeleteSpaces bool `json:"deleteSpaces,omitempty"`

	// actAs: Spaces may set spec.owner (create on a user's behalf, scope
	// spaces.create.actas); the owner must be in emailDomains.
	// +optional
	ActAs bool `json:"actAs,omitempty"`

	// invite: SpaceInvites may invite, change roles and prune.
	// +optional
	Invite bool `json:"invite,omitempty"`

	// inviteOutsideDomains: invitees need not be in emailDomains (and may
	// be named by userID, whose domain the operator cannot see).
	// +optional
	InviteOutsideDomains bool `json:"inviteOutsideDomains,omitempty"`

	// manageUsers: ServiceAccountUserSets may create users in emailDomains
	// and update or delete the users they created.
	// +optional
	ManageUsers bool `json:"manageUsers,omitempty"`

	// manageExistingUsers: with manageUsers, a set may also update (and,
	// with deletionPolicy Delete, delete) users it did not create.
	// +optional
	ManageExistingUsers bool `json:"manageExistingUsers,omitempty"`

	// licenses a user set may assign (None, removing a license from a user
	// the set manages, is always allowed).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=2
	// +kubebuilder:validation:items:Enum=Power;Business
	Licenses []License `json:"licenses,omitempty"`
}

// ClusterSpacesAccountStatus is what the operator last observed of the
// account.
type ClusterSpacesAccountStatus struct {
	CommonStatus `json:",inline"`

	// subject is the key's service account (the key file's sub).
	// +optional
	Subject string `json:"subject,omitempty"`

	// keyID is the key's id (kid).
	// +optional
	KeyID string `json:"keyID,omitempty"`

	// users is the number of objects using the account.
	// +optional
	Users int32 `json:"users"`
}

// ClusterSpacesAccount is a company's Spaces service-app key, lent by the
// platform team to the namespaces it selects, with what they may do.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=csa,categories=avayaspaces
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Subject",type=string,JSONPath=`.status.subject`
// +kubebuilder:printcolumn:name="Users",type=integer,JSONPath=`.status.users`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterSpacesAccount struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the key and what its users may do.
	// +required
	Spec ClusterSpacesAccountSpec `json:"spec"`

	// status is what the operator last observed.
	// +optional
	Status ClusterSpacesAccountStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ClusterSpacesAccountList is a list of ClusterSpacesAccounts.
type ClusterSpacesAccountList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ClusterSpacesAccount `json:"items"`
}

// AccountReference names a ClusterSpacesAccount.
type AccountReference struct {
	// name of the ClusterSpacesAccount.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}
