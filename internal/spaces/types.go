package spaces

import (
	"bytes"
	"encoding/json"
)

// Wire types of the Spaces REST API, as spaces-api.md and the fixtures in
// shared/spaces-fixtures show them. Only fields someone uses are declared;
// unknown fields are ignored on decode. Fields that are INFERRED there are
// marked so here.

// Space is a space ("topic") as GET /spaces/{id} returns it.
type Space struct {
	ID          string `json:"_id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// Type is group, direct or personal.
	Type string `json:"type,omitempty"`
	// Status is 0 normal, 1 archived.
	Status int `json:"status"`
	// CID is the creator's user id (INFERRED).
	CID      string        `json:"cid,omitempty"`
	Settings SpaceSettings `json:"settings"`
	// Restrict and MsgRetention are top level (INFERRED placement; the
	// sample SDK reads them under settings).
	Restrict     []string      `json:"restrict,omitempty"`
	MsgRetention *MsgRetention `json:"msgRetention,omitempty"`
	Members      []Member      `json:"members,omitempty"`
}

// UnmarshalJSON reads a space liberally: "id" where "_id" is missing, and
// restrict and msgRetention under settings where they are not at the top
// (a public sample reads them there), so either placement is one state,
// not endless drift.
func (s *Space) UnmarshalJSON(b []byte) error {
	type plain Space
	var wire struct {
		plain
		Settings struct {
			SpaceSettings
			Restrict     []string      `json:"restrict"`
			MsgRetention *MsgRetention `json:"msgRetention"`
		} `json:"settings"`
	}
	if err := json.Unmarshal(b, &wire); err != nil {
		return err
	}
	*s = Space(wire.plain)
	s.Settings = wire.Settings.SpaceSettings
	if s.Restrict == nil {
		s.Restrict = wire.Settings.Restrict
	}
	if s.MsgRetention == nil {
		s.MsgRetention = wire.Settings.MsgRetention
	}
	return idWhereMissing(b, &s.ID)
}

// SpaceSettings are the settings of a space the operator reads or writes.
type SpaceSettings struct {
	ConfID             string            `json:"confId,omitempty"`
	AllowPasswordInURL *bool             `json:"allowPasswordInURL,omitempty"`
	MemberOnly         *bool             `json:"memberOnly,omitempty"`
	PasswordRequired   *PasswordRequired `json:"passwordRequired,omitempty"`
}

// PasswordRequired says who must enter the space password.
type PasswordRequired struct {
	AllGuests *bool `json:"allGuests,omitempty"`
}

// MsgRetention is a space's message retention policy.
type MsgRetention struct {
	RetentionLength int `json:"retentionLength"`
	// RetentionType is forever or delete_after_days.
	RetentionType          string `json:"retentionType"`
	NotInheritParentPolicy bool   `json:"notInheritParentPolicy"`
}

// Retention types and restrictions Spaces uses.
const (
	RetentionTypeForever         = "forever"
	RetentionTypeDeleteAfterDays = "delete_after_days"
	RestrictDenyGuestHistory     = "deny_guest_access_history_msg"
)

// Member is one member of a space.
type Member struct {
	Member      string `json:"member"`
	MemberType  string `json:"memberType,omitempty"`
	Role        string `json:"role"`
	JoinTime    string `json:"joinTime,omitempty"`
	Username    string `json:"username,omitempty"`
	Displayname string `json:"displayname,omitempty"`
}

// SpaceUpdate is the body of POST /spaces/{id}: a partial update; nil fields
// are left as they are.
type SpaceUpdate struct {
	Title       *string              `json:"title,omitempty"`
	Description *string              `json:"description,omitempty"`
	Restrict    *[]string            `json:"restrict,omitempty"`
	Settings    *SpaceSettingsUpdate `json:"settings,omitempty"`
	// MsgRetention replaces the retention policy.
	MsgRetention *MsgRetention `json:"msgRetention,omitempty"`
}

// SpaceSettingsUpdate holds the settings a SpaceUpdate changes (INFERRED:
// Spaces merges them into the existing settings).
type SpaceSettingsUpdate struct {
	AllowPasswordInURL *bool             `json:"allowPasswordInURL,omitempty"`
	MemberOnly         *bool             `json:"memberOnly,omitempty"`
	PasswordRequired   *PasswordRequired `json:"passwordRequired,omitempty"`
}

// User is a Spaces user (GET /users/me, colleagues).
type User struct {
	ID          string      `json:"_id"`
	Username    string      `json:"username,omitempty"`
	Displayname string      `json:"displayname,omitempty"`
	AType       string      `json:"aType,omitempty"`
	Emails      []UserEmail `json:"emails,omitempty"`
	// PhoneNumbers is kept raw: its shape is INFERRED and the operator
	// never reads it, so no shape may fail a whole answer.
	PhoneNumbers json.RawMessage `json:"phone_numbers,omitempty"`
	Licenses     []UserLicense   `json:"licenses,omitempty"`
	Permissions  []string        `json:"permissions,omitempty"`
	Timezone     string          `json:"timezone,omitempty"`
	PictureURL   string          `json:"picture_url,omitempty"`
}

// UnmarshalJSON reads a user liberally: "id" where "_id" is missing.
func (u *User) UnmarshalJSON(b []byte) error {
	type plain User
	if err := json.Unmarshal(b, (*plain)(u)); err != nil {
		return err
	}
	return idWhereMissing(b, &u.ID)
}

// UserEmail is one of a user's addresses.
type UserEmail struct {
	Primary bool   `json:"primary"`
	Value   string `json:"value"`
}

// UserLicense is a license held by a user.
type UserLicense struct {
	ProductType string `json:"product_type,omitempty"`
	ServiceType string `json:"service_type,omitempty"`
	Trial       bool   `json:"trial"`
	Expiration  string `json:"expiration,omitempty"`
}

// Topic is the space part of a create request.
type Topic struct {
	// ID is always null on create; the field must be present.
	ID          *string `json:"id"`
	Title       string  `json:"title"`
	Description string  `json:"description,omitempty"`
	Type        string  `json:"type"`
}

// Invitee is one person in an invitation.
type Invitee struct {
	// InviteeType is email or userid (the documented spelling; Spaces'
	// own answers also say userId).
	InviteeType string `json:"inviteeType"`
	Invitee     string `json:"invitee"`
	Role        string `json:"role,omitempty"`
}

// Invitee types and inform channels.
const (
	InviteeTypeEmail    = "email"
	InviteeTypeUserID   = "userid"
	InformChannelServer = "server"
	InformChannelClient = "client"
)

// CreateSpaceRequest is the body of POST /spaces/invite.
type CreateSpaceRequest struct {
	Topic         Topic     `json:"topic"`
	Invitees      []Invitee `json:"invitees"`
	InformChannel string    `json:"informChannel,omitempty"`
}

// InviteRequest is the body of POST /spaces/{id}/invite.
type InviteRequest struct {
	Invitees              []Invitee `json:"invitees"`
	InformChannel         string    `json:"informChannel,omitempty"`
	InviteMode            string    `json:"inviteMode,omitempty"`
	StartDateTime         string    `json:"startDateTime,omitempty"`
	EndDateTime           string    `json:"endDateTime,omitempty"`
	InviteContentLanguage string    `json:"inviteContentLanguage,omitempty"`
}

// InviteResponse answers both invite routes.
type InviteResponse struct {
	Data []Invite `json:"data"`
	// InviteContent comes with informChannel client.
	InviteContent *InviteContent `json:"inviteContent,omitempty"`
}

// UnmarshalJSON reads data as a list of invites (CONFIRMED) or as one
// invite object.
func (r *InviteResponse) UnmarshalJSON(b []byte) error {
	var wire struct {
		Data          json.RawMessage `json:"data"`
		InviteContent *InviteContent  `json:"inviteContent"`
	}
	if err := json.Unmarshal(b, &wire); err != nil {
		return err
	}
	r.InviteContent = wire.InviteContent
	r.Data = nil
	data := bytes.TrimSpace(wire.Data)
	switch {
	case len(data) == 0 || bytes.Equal(data, []byte("null")):
		return nil
	case data[0] == '{':
		var one Invite
		if err := json.Unmarshal(data, &one); err != nil {
			return err
		}
		r.Data = []Invite{one}
		return nil
	default:
		return json.Unmarshal(data, &r.Data)
	}
}

// Invite is an invitation document (INFERRED beyond topicId).
type Invite struct {
	ID         string    `json:"_id,omitempty"`
	TopicID    string    `json:"topicId"`
	Invitees   []Invitee `json:"invitees,omitempty"`
	InviteMode string    `json:"inviteMode,omitempty"`
}

// UnmarshalJSON reads "id" where "_id" is missing.
func (i *Invite) UnmarshalJSON(b []byte) error {
	type plain Invite
	if err := json.Unmarshal(b, (*plain)(i)); err != nil {
		return err
	}
	return idWhereMissing(b, &i.ID)
}

// idWhereMissing sets *id from the object's "id" when its "_id" gave none:
// Spaces' objects carry _id, and some answers may carry id instead.
func idWhereMissing(b []byte, id *string) error {
	if *id != "" {
		return nil
	}
	var alt struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &alt); err != nil {
		return err
	}
	*id = alt.ID
	return nil
}

// InviteContent is the invitation text for the caller to deliver.
type InviteContent struct {
	Text string `json:"text"`
	HTML string `json:"html,omitempty"`
}

// Attendee answers the attendee routes.
type Attendee struct {
	Attendee     string `json:"attendee"`
	AttendeeType string `json:"attendeeType"`
	Role         string `json:"role,omitempty"`
}

// Password is a user password. It prints as [redacted] in every fmt verb,
// so a logged request cannot leak it; only JSON encoding reveals it.
type Password string

func (Password) String() string   { return "[redacted]" }
func (Password) GoString() string { return "[redacted]" }

// MarshalJSON sends the real value.
func (p Password) MarshalJSON() ([]byte, error) { return json.Marshal(string(p)) }

// Bulk account actions.
const (
	BulkActionCreate = "create"
	BulkActionRead   = "read"
	BulkActionUpdate = "update"
	BulkActionDelete = "delete"
)

// License types of the bulk API.
const (
	LicenseTypePower    = "spaces_power"
	LicenseTypeBusiness = "spaces_business"
)

// BulkOperation is one operation of POST /users/bulkupdateaccounts.
type BulkOperation struct {
	Action    string   `json:"action"`
	Email     string   `json:"email"`
	Password  Password `json:"password,omitempty"`
	Firstname string   `json:"firstname,omitempty"`
	Lastname  string   `json:"lastname,omitempty"`
	Language  string   `json:"language,omitempty"`
	Cellphone string   `json:"cellphone,omitempty"`
	Workphone string   `json:"workphone,omitempty"`
	// LicenseType: nil leaves the license alone; "" removes it (on update).
	LicenseType *string `json:"license_type,omitempty"`
}

// BulkResult is the outcome of one operation, in request order (INFERRED).
type BulkResult struct {
	Action string     `json:"action"`
	Email  string     `json:"email"`
	Status string     `json:"status"`
	User   *User      `json:"user,omitempty"`
	Error  *BulkError `json:"error,omitempty"`
	// Note says how the result was known when not from Spaces' answer.
	Note string `json:"-"`
}

// Succeeded reports whether the operation worked.
func (r BulkResult) Succeeded() bool { return r.Status == "success" }

// BulkError is why an operation failed.
type BulkError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Message is a chat message, post (idea) or task.
type Message struct {
	ID        string         `json:"_id"`
	Category  string         `json:"category,omitempty"`
	TopicID   string         `json:"topicId,omitempty"`
	Content   MessageContent `json:"content"`
	Sender    *MessageSender `json:"sender,omitempty"`
	ParentMsg *ParentMessage `json:"parentMsg,omitempty"`
	ChatCount int            `json:"chatCount,omitempty"`
	Created   string         `json:"created,omitempty"`
	Modified  string         `json:"modified,omitempty"`
}

// MessageContent is the body of a message.
type MessageContent struct {
	BodyText    string        `json:"bodyText"`
	Description string        `json:"description,omitempty"`
	Data        []any         `json:"data,omitempty"`
	Status      string        `json:"status,omitempty"`
	DueDate     string        `json:"dueDate,omitempty"`
	Assignees   []AssigneeRef `json:"assignees,omitempty"`
}

// AssigneeRef names a task assignee.
type AssigneeRef struct {
	ID string `json:"_id"`
}

// MessageSender is who sent a message.
type MessageSender struct {
	ID          string `json:"_id"`
	Type        string `json:"type,omitempty"`
	Username    string `json:"username,omitempty"`
	Displayname string `json:"displayname,omitempty"`
}

// ParentMessage links a comment to its post or task.
type ParentMessage struct {
	ID       string `json:"_id"`
	BodyText string `json:"bodyText,omitempty"`
	Category string `json:"category,omitempty"`
}

// ChatRequest is the body of POST /spaces/{id}/chats.
type ChatRequest struct {
	Content   MessageContent `json:"content"`
	ParentMsg *ParentMessage `json:"parentMsg,omitempty"`
}

// PostRequest is the body of POST /spaces/{id}/ideas.
type PostRequest struct {
	Content MessageContent `json:"content"`
}

// TaskRequest is the body of POST /spaces/{id}/tasks: the documented shape,
// with assignees, dueDate and status at top level as the docs require.
type TaskRequest struct {
	Content   MessageContent `json:"content"`
	Assignees []string       `json:"assignees"`
	DueDate   string         `json:"dueDate"`
	// Status is 0 pending, 1 completed.
	Status int `json:"status"`
}

// MessageUpdate is the body of POST /messages/{id}.
type MessageUpdate struct {
	ID      string         `json:"_id"`
	Content MessageContent `json:"content"`
}

// page is the envelope of list responses.
type page[T any] struct {
	Data        []T    `json:"data"`
	NextPageURL string `json:"nextPageUrl,omitempty"`
	Total       *int   `json:"total,omitempty"`
}
