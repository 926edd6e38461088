package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// SpaceSpec is the Avaya space the operator creates (or adopts) and keeps in
// step. Only the fields that are set are managed; anything else about the
// space is left as people in Spaces set it.
//
// +kubebuilder:validation:XValidation:rule="has(self.owner) == has(oldSelf.owner) && (!has(self.owner) || self.owner == oldSelf.owner)",message="owner is immutable: the space is created once with this owner; delete and re-create the Space to change it",fieldPath=.owner
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.spaceID) || (has(self.spaceID) && self.spaceID == oldSelf.spaceID)",message="spaceID is immutable once set: delete and re-create the Space to manage another space",fieldPath=.spaceID
// +kubebuilder:validation:XValidation:rule="!(has(self.accountRef) && has(self.credentialsRef))",message="set at most one of accountRef and credentialsRef",fieldPath=.accountRef
type SpaceSpec struct {
	// title of the space as members see it: one line, without control
	// characters or bidirectional overrides.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.trim().size() > 0",message="title must not be blank"
	// +kubebuilder:validation:Pattern=`^[^\x00-\x1f\x7f\x{200e}\x{200f}\x{061c}\x{202a}-\x{202e}\x{2066}-\x{2069}]*$`
	Title string `json:"title"`

	// description of the space. Omitted: the description is not managed.
	// Line breaks and tabs are allowed; other control characters and
	// bidirectional overrides are not.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:Pattern=`^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x{200e}\x{200f}\x{061c}\x{202a}-\x{202e}\x{2066}-\x{2069}]*$`
	Description *string `json:"description,omitempty"`

	// owner is the email of the user who will own the space. The space is
	// created on that user's behalf (header X-Avaya-Act-As, scope
	// spaces.create.actas; the email's domain must be the service account's
	// domain) and the service account is invited as an admin so the operator
	// can keep managing it. Immutable.
	// +optional
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`
	Owner string `json:"owner,omitempty"`

	// spaceID adopts an existing space (24 lowercase hex digits) instead of
	// creating one; the space is brought to this spec. Can be set later, for
	// example to settle an AmbiguousCreate, but not changed once set.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{24}$`
	SpaceID string `json:"spaceID,omitempty"`

	// settings of the space. Only the settings that are set are managed.
	// +optional
	Settings *SpaceSettings `json:"settings,omitempty"`

	// deletionPolicy says what happens to the space when this object is
	// deleted: Retain (the default) leaves it and its chat history; Delete
	// deletes it in Spaces.
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
	// management: Full (the default) brings Spaces to this spec;
	// ObserveOnly reads Spaces and reports in status.differences every
	// field that differs (for invites: who would be invited, changed or
	// removed), writes nothing to Spaces and never deletes. Switching to
	// Full applies the difference: review it first.
	// +optional
	// +kubebuilder:default=Full
	Management Management `json:"management,omitempty"`
}

// SpaceSettings are the settings of a space the operator can manage. Every
// field is optional; an omitted field is left as it is in Spaces.
type SpaceSettings struct {
	// memberOnly: only members can join the space.
	// +optional
	MemberOnly *bool `json:"memberOnly,omitempty"`

	// allowPasswordInURL: the space password may be carried in join links.
	// +optional
	AllowPasswordInURL *bool `json:"allowPasswordInURL,omitempty"`

	// guestsRequirePassword: guests must enter the space password
	// (Spaces setting passwordRequired.allGuests).
	// +optional
	GuestsRequirePassword *bool `json:"guestsRequirePassword,omitempty"`

	// denyGuestHistory: guests cannot read messages sent before they joined
	// (Spaces restriction deny_guest_access_history_msg).
	// +optional
	DenyGuestHistory *bool `json:"denyGuestHistory,omitempty"`

	// messageRetention: how long Spaces keeps the space's messages.
	// +optional
	MessageRetention *MessageRetention `json:"messageRetention,omitempty"`
}

// RetentionPolicy is how long a space keeps its messages.
// +kubebuilder:validation:Enum=Forever;DeleteAfterDays
type RetentionPolicy string

const (
	// RetentionForever keeps messages for ever.
	RetentionForever RetentionPolicy = "Forever"
	// RetentionDeleteAfterDays deletes messages older than days.
	RetentionDeleteAfterDays RetentionPolicy = "DeleteAfterDays"
)

// MessageRetention is a space's message retention policy.
// +kubebuilder:validation:XValidation:rule="self.policy == 'DeleteAfterDays' ? has(self.days) : !has(self.days)",message="days is required when policy is DeleteAfterDays and not allowed when policy is Forever"
type MessageRetention struct {
	// policy: Forever, or DeleteAfterDays (with days).
	// +required
	Policy RetentionPolicy `json:"policy"`

	// days after which messages are deleted, 1 to 36500; only with
	// policy DeleteAfterDays.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=36500
	Days *int32 `json:"days,omitempty"`
}

// SpaceStatus is what the operator last observed of the space.
type SpaceStatus struct {
	CommonStatus `json:",inline"`

	// spaceID is the id of the managed space in Spaces.
	// +optional
	SpaceID string `json:"spaceID,omitempty"`

	// url opens the space in the Spaces web app.
	// +optional
	URL string `json:"url,omitempty"`

	// memberCount is the number of members at the last observation.
	// +optional
	MemberCount int32 `json:"memberCount"`

	// leftoverSpaceIDs are spaces that interrupted creates of this object
	// made besides spaceID (each holds one of its create tickets) and that
	// the operator could not delete yet, typically for want of scope
	// spaces.delete. It retries at every resync; delete them in Spaces to
	// settle it by hand.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:Pattern=`^[0-9a-f]{24}$`
	LeftoverSpaceIDs []string `json:"leftoverSpaceIDs,omitempty"`

	// differences, with management ObserveOnly, are the managed fields
	// where Spaces differs from the spec: what Full would write.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	Differences []string `json:"differences,omitempty"`
}

// Space is an Avaya Spaces team space, created or adopted and kept in step
// with its spec.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sp,categories=avayaspaces
// +kubebuilder:printcolumn:name="Title",type=string,JSONPath=`.spec.title`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`
// +kubebuilder:printcolumn:name="Space ID",type=string,JSONPath=`.status.spaceID`
// +kubebuilder:printcolumn:name="Members",type=integer,JSONPath=`.status.memberCount`,priority=1
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Space struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the space as it should be in Spaces.
	// +required
	Spec SpaceSpec `json:"spec"`

	// status is what the operator last observed.
	// Until the operator first writes it, it reads observedGeneration 0,
	// so kstatus and Argo CD see the object as in progress, not current.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status SpaceStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// SpaceList is a list of Spaces.
type SpaceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Space `json:"items"`
}
