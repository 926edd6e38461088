package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// SpaceInviteSpec is a list of people who should be members of one space.
//
// +kubebuilder:validation:XValidation:rule="has(self.spaceRef) != has(self.spaceID)",message="exactly one of spaceRef and spaceID must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.credentialsRef) || has(self.spaceID)",message="credentialsRef applies only with spaceID; with spaceRef the Space's own credentials are used",fieldPath=.credentialsRef
// +kubebuilder:validation:XValidation:rule="!has(self.accountRef) || has(self.spaceID)",message="accountRef applies only with spaceID; with spaceRef the Space's own account is used",fieldPath=.accountRef
// +kubebuilder:validation:XValidation:rule="has(self.spaceRef) == has(oldSelf.spaceRef) && (!has(self.spaceRef) || self.spaceRef.name == oldSelf.spaceRef.name)",message="spaceRef is immutable: create another SpaceInvite for another space",fieldPath=.spaceRef
// +kubebuilder:validation:XValidation:rule="has(self.spaceID) == has(oldSelf.spaceID) && (!has(self.spaceID) || self.spaceID == oldSelf.spaceID)",message="spaceID is immutable: create another SpaceInvite for another space",fieldPath=.spaceID
// +kubebuilder:validation:XValidation:rule="!(has(self.accountRef) && has(self.credentialsRef))",message="set at most one of accountRef and credentialsRef",fieldPath=.accountRef
type SpaceInviteSpec struct {
	// spaceRef names a Space in this namespace; its space and credentials are
	// used. Exactly one of spaceRef and spaceID. Immutable.
	// +optional
	SpaceRef *SpaceReference `json:"spaceRef,omitempty"`

	// spaceID is the id of a space not managed by a Space object (24
	// lowercase hex digits). Exactly one of spaceRef and spaceID. Immutable.
	// +optional
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{24}$`
	SpaceID string `json:"spaceID,omitempty"`

	// invitees are the people who should be members, each with a role.
	// Each person appears once.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=500
	// +kubebuilder:validation:XValidation:rule="self.map(i, has(i.email) ? i.email : has(i.userID) ? i.userID : '').distinct().size() == self.size()",message="invitees must be unique: the same email or userID appears more than once"
	Invitees []Invitee `json:"invitees"`

	// notify: Email (the default) lets Spaces email the invitations; None
	// sends nothing and keeps each invitee's join link in the Secret named
	// by status.joinLinksSecret (NAME-join-links) instead.
	// +optional
	// +kubebuilder:default=Email
	Notify NotifyPolicy `json:"notify,omitempty"`

	// prune: when true, members this object invited are removed from the
	// space when they are dropped from invitees or the object is deleted.
	// Members added by anyone else are never removed.
	// +optional
	Prune bool `json:"prune,omitempty"`

	// accountRef names the ClusterSpacesAccount whose key the object uses
	// (the platform team's, lent to this namespace); only with spaceID. At
	// most one of accountRef and credentialsRef; neither: the operator's
	// default account.
	// +optional
	AccountRef *AccountReference `json:"accountRef,omitempty"`

	// credentialsRef names the Secret in this namespace holding the
	// service-app key file; only with spaceID. At most one of credentialsRef
	// and accountRef.
	// +optional
	CredentialsRef *CredentialsReference `json:"credentialsRef,omitempty"`

	// suspend stops every call to Spaces for this object.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// management: Full (the default) brings membership to this spec;
	// ObserveOnly reads membership and reports in status.differences who
	// would be invited, have their role changed or be removed, and sends
	// nothing. Switching to Full applies the difference: review it first.
	// +optional
	// +kubebuilder:default=Full
	Management Management `json:"management,omitempty"`
}

// SpaceReference names a Space in the same namespace.
type SpaceReference struct {
	// name of the Space.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// Invitee is one person to be a member of the space, by email or by Spaces
// user id.
// +kubebuilder:validation:XValidation:rule="has(self.email) != has(self.userID)",message="exactly one of email and userID must be set"
type Invitee struct {
	// email of the person to invite, in lower case.
	// +optional
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:XValidation:rule="self == self.lowerAscii()",message="email must be lower case: Spaces matches emails without regard to case, and lower case keeps each person listed once"
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`
	Email string `json:"email,omitempty"`

	// userID is the Spaces user id of the person to invite (24 lowercase hex
	// digits).
	// +optional
	// +kubebuilder:validation:MaxLength=24
	// +kubebuilder:validation:Pattern=`^[0-9a-f]{24}$`
	UserID string `json:"userID,omitempty"`

	// role in the space: admin, member (the default) or guest.
	// +optional
	// +kubebuilder:default=member
	Role MemberRole `json:"role,omitempty"`
}

// MemberRole is a role in a space.
// +kubebuilder:validation:Enum=admin;member;guest
type MemberRole string

const (
	RoleAdmin  MemberRole = "admin"
	RoleMember MemberRole = "member"
	RoleGuest  MemberRole = "guest"
)

// NotifyPolicy says who tells invitees about their invitation.
// +kubebuilder:validation:Enum=Email;None
type NotifyPolicy string

const (
	// NotifyEmail: Spaces emails the invitations (informChannel server).
	NotifyEmail NotifyPolicy = "Email"
	// NotifyNone: nobody is emailed; join links are put in status
	// (informChannel client).
	NotifyNone NotifyPolicy = "None"
)

// InviteeState is where one invitee stands.
// +kubebuilder:validation:Enum=Pending;Sending;Invited;Joined;Failed
type InviteeState string

const (
	InviteePending InviteeState = "Pending"
	// InviteeSending: an invitation call naming the invitee may still be
	// reaching Spaces (the operator stopped before it learnt the answer).
	// After sendingUntil, membership decides: a member is Joined, anyone
	// else is invited again.
	InviteeSending InviteeState = "Sending"
	InviteeInvited InviteeState = "Invited"
	InviteeJoined  InviteeState = "Joined"
	InviteeFailed  InviteeState = "Failed"
)

// InviteeStatus is what the operator knows of one invitee.
type InviteeStatus struct {
	// email of the invitee, as in spec.
	// +optional
	Email string `json:"email,omitempty"`
	// userID of the invitee: as in spec, or as Spaces reported it.
	// +optional
	UserID string `json:"userID,omitempty"`
	// role the invitee was invited with.
	// +optional
	Role MemberRole `json:"role,omitempty"`
	// state: Pending, Sending (a call naming the invitee is out, or its
	// answer was lost), Invited (sent, not yet a member), Joined (a member
	// with the role) or Failed (see message).
	// +optional
	State InviteeState `json:"state,omitempty"`
	// message from Spaces when the invitation failed.
	// +optional
	Message string `json:"message,omitempty"`
	// invitedAt is when the invitation was sent.
	// +optional
	InvitedAt *metav1.Time `json:"invitedAt,omitempty"`
	// sendingUntil is, while Sending, the moment after which the call can
	// no longer reach Spaces, so membership tells whether it did.
	// +optional
	SendingUntil *metav1.Time `json:"sendingUntil,omitempty"`
}

// SpaceInviteStatus is what the operator last observed of the invitees.
type SpaceInviteStatus struct {
	CommonStatus `json:",inline"`

	// spaceID is the id of the space the invitees are invited to.
	// +optional
	SpaceID string `json:"spaceID,omitempty"`

	// credentialsRef and accountRef record where the credentials of the last
	// sync came from (with spaceRef, the Space's): a prune on deletion
	// still reaches the space with them after the Space object is gone.
	// +optional
	CredentialsRef *CredentialsReference `json:"credentialsRef,omitempty"`
	// +optional
	AccountRef *AccountReference `json:"accountRef,omitempty"`

	// invitees: one entry per invitee in spec.
	// +optional
	// +listType=atomic
	Invitees []InviteeStatus `json:"invitees,omitempty"`

	// joinLinksSecret names the Secret, owned by this object, holding each
	// invitee's join link with notify None (one key per invitee: the email
	// with @ spelled _at_, or user-id.<userID>). Links are credentials to the
	// space, so they are not in status, which the view role can read.
	// +optional
	JoinLinksSecret string `json:"joinLinksSecret,omitempty"`

	// limitations are the features Spaces does not let the service app
	// use on this space, found when it refused them: RoleChanges (the
	// attendee route), Prune (removing members), JoinedState (reading
	// membership). Invitations still go out; the Ready message says what a
	// human must do instead. Looked at again when the spec changes.
	// +optional
	// +listType=set
	Limitations []InviteLimitation `json:"limitations,omitempty"`

	// differences, with management ObserveOnly, are what Full would do:
	// who would be invited, have their role changed, or be removed.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=200
	Differences []string `json:"differences,omitempty"`

	// joined is the number of invitees who are members with their role.
	// +optional
	Joined int32 `json:"joined"`

	// total is the number of invitees in spec.
	// +optional
	Total int32 `json:"total"`
}

// InviteLimitation is a feature Spaces refuses the service app.
// +kubebuilder:validation:Enum=RoleChanges;Prune;JoinedState
type InviteLimitation string

// The features a SpaceInvite may find refused.
const (
	LimitationRoleChanges InviteLimitation = "RoleChanges"
	LimitationPrune       InviteLimitation = "Prune"
	LimitationJoinedState InviteLimitation = "JoinedState"
)

// SpaceInvite makes a list of people members of one Avaya space, each with a
// role.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=spi,categories=avayaspaces
// +kubebuilder:printcolumn:name="Space",type=string,JSONPath=`.spec.spaceRef.name`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Space ID",type=string,JSONPath=`.status.spaceID`
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`
// +kubebuilder:printcolumn:name="Joined",type=integer,JSONPath=`.status.joined`
// +kubebuilder:printcolumn:name="Total",type=integer,JSONPath=`.status.total`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SpaceInvite struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is who should be a member of the space.
	// +required
	Spec SpaceInviteSpec `json:"spec"`

	// status is what the operator last observed.
	// Until the operator first writes it, it reads observedGeneration 0,
	// so kstatus and Argo CD see the object as in progress, not current.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status SpaceInviteStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// SpaceInviteList is a list of SpaceInvites.
type SpaceInviteList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SpaceInvite `json:"items"`
}
