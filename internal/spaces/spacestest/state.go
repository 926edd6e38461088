package spacestest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sort"
	"strings"
	"time"
)

// The fake's model of one company in Spaces. Field names follow the wire
// format where there is one, so GET /_fake/state reads like the real thing.

// Company is the one company the fake serves.
type Company struct {
	ID      string   `json:"_id"`
	Name    string   `json:"name"`
	Domains []string `json:"domains"`
}

// User is a user account of the company (service accounts included).
type User struct {
	ID          string   `json:"_id"`
	Email       string   `json:"email"`
	FirstName   string   `json:"firstname,omitempty"`
	LastName    string   `json:"lastname,omitempty"`
	Language    string   `json:"language,omitempty"`
	Cellphone   string   `json:"cellphone,omitempty"`
	Workphone   string   `json:"workphone,omitempty"`
	LicenseType string   `json:"license_type,omitempty"`
	Service     bool     `json:"serviceAccount,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
	// HasPassword records that a password was set; the fake keeps no
	// password, so its state can be dumped without leaking one.
	HasPassword bool `json:"hasPassword,omitempty"`
	// passwordHash lets tests check a password without the fake keeping it.
	passwordHash [32]byte
	// PasswordSHA256 is passwordHash in hex, for tests in other processes.
	PasswordSHA256 string    `json:"passwordSHA256,omitempty"`
	Created        time.Time `json:"created"`
}

func (u *User) setPassword(password string) {
	u.HasPassword, u.passwordHash = true, sha256.Sum256([]byte(password))
	u.PasswordSHA256 = hex.EncodeToString(u.passwordHash[:])
}

func (u *User) displayName() string {
	if n := strings.TrimSpace(u.FirstName + " " + u.LastName); n != "" {
		return n
	}
	return u.Email
}

// ServiceApp is a registered service app with its keys and scopes.
type ServiceApp struct {
	// Issuer is the iss of its tokens.
	Issuer string `json:"iss"`
	// Subject is the sub of its tokens: the service account's username.
	Subject string `json:"sub"`
	// UserID is the service account's user id.
	UserID string `json:"userId"`
	// Scopes granted in the developer portal.
	Scopes []string `json:"scopes"`
	// Keys are the registered public keys by kid.
	Keys map[string]*rsa.PublicKey `json:"-"`
	// KeyIDs lists the kids, for the state dump.
	KeyIDs []string `json:"kids"`
	// Disabled by the company admin: every token is refused.
	Disabled bool `json:"disabled,omitempty"`
}

func (a *ServiceApp) hasScope(s string) bool {
	for _, x := range a.Scopes {
		if x == s {
			return true
		}
	}
	return false
}

// Member is a member of a space.
type Member struct {
	UserID   string    `json:"member"`
	Role     string    `json:"role"`
	JoinTime time.Time `json:"joinTime"`
}

// Space is a space with its settings and members.
type Space struct {
	ID                 string        `json:"_id"`
	Title              string        `json:"title"`
	Description        string        `json:"description,omitempty"`
	Type               string        `json:"type"`
	Status             int           `json:"status"`
	CID                string        `json:"cid"`
	MemberOnly         bool          `json:"memberOnly"`
	AllowPasswordInURL bool          `json:"allowPasswordInURL"`
	GuestsPassword     bool          `json:"passwordRequiredAllGuests"`
	Restrict           []string      `json:"restrict"`
	Retention          *MsgRetention `json:"msgRetention,omitempty"`
	Members            []Member      `json:"members"`
	Created            time.Time     `json:"created"`
	Modified           time.Time     `json:"modified"`
}

// MsgRetention is a retention policy as Spaces encodes it.
type MsgRetention struct {
	RetentionLength        int    `json:"retentionLength"`
	RetentionType          string `json:"retentionType"`
	NotInheritParentPolicy bool   `json:"notInheritParentPolicy"`
}

func (s *Space) member(userID string) *Member {
	for i := range s.Members {
		if s.Members[i].UserID == userID {
			return &s.Members[i]
		}
	}
	return nil
}

func (s *Space) clone() Space {
	c := *s
	c.Restrict = append([]string(nil), s.Restrict...)
	c.Members = append([]Member(nil), s.Members...)
	if s.Retention != nil {
		r := *s.Retention
		c.Retention = &r
	}
	return c
}

// Invite is an invitation sent to people for a space.
type Invite struct {
	ID            string        `json:"_id"`
	TopicID       string        `json:"topicId"`
	Invitees      []InviteeWire `json:"invitees"`
	InformChannel string        `json:"informChannel"`
	InviteMode    string        `json:"inviteMode"`
	Created       time.Time     `json:"created"`
}

// InviteeWire is one invitee as the API sends it.
type InviteeWire struct {
	InviteeType string `json:"inviteeType"`
	Invitee     string `json:"invitee"`
	Role        string `json:"role,omitempty"`
}

// Message is a chat message, post or task.
type Message struct {
	ID        string         `json:"_id"`
	Category  string         `json:"category"`
	TopicID   string         `json:"topicId"`
	SenderID  string         `json:"senderId"`
	Content   map[string]any `json:"content"`
	ParentID  string         `json:"parentId,omitempty"`
	Created   time.Time      `json:"created"`
	Modified  time.Time      `json:"modified"`
	Sequence  int            `json:"-"`
	Assignees []string       `json:"assignees,omitempty"`
}

// State is everything the fake holds; GET /_fake/state serves it.
type State struct {
	Company     Company                `json:"company"`
	Users       map[string]*User       `json:"users"`
	ServiceApps map[string]*ServiceApp `json:"serviceApps"`
	Spaces      map[string]*Space      `json:"spaces"`
	Invites     map[string]*Invite     `json:"invites"`
	Messages    map[string]*Message    `json:"messages"`
	// Invitations counts invitations per person: the user id of someone
	// with an account, however invited, else the lower-case email; for
	// tests proving nobody is invited twice.
	Invitations map[string]int `json:"invitations"`
	// CreateAttempts counts bulk create operations per email (refused ones
	// too), for tests proving no user is created twice.
	CreateAttempts map[string]int `json:"createAttempts"`
	// DeletedSpaces are the ids of spaces deleted through the API.
	DeletedSpaces []string `json:"deletedSpaces"`
}

func newState(domains []string) *State {
	return &State{
		Company:        Company{ID: "5eeb4e49aa4a347af9c70000", Name: "Fake Company", Domains: domains},
		Users:          map[string]*User{},
		ServiceApps:    map[string]*ServiceApp{},
		Spaces:         map[string]*Space{},
		Invites:        map[string]*Invite{},
		Messages:       map[string]*Message{},
		Invitations:    map[string]int{},
		CreateAttempts: map[string]int{},
	}
}

func (st *State) userByEmail(email string) *User {
	email = strings.ToLower(email)
	for _, u := range st.Users {
		if strings.ToLower(u.Email) == email {
			return u
		}
	}
	return nil
}

// invitationKey is whom an invitee (email or user id) names, for counting.
func (st *State) invitationKey(invitee string) string {
	if u := st.userByEmail(invitee); u != nil {
		return u.ID
	}
	return strings.ToLower(invitee)
}

func (st *State) inCompanyDomain(email string) bool {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	domain := strings.ToLower(email[at+1:])
	for _, d := range st.Company.Domains {
		if strings.ToLower(d) == domain {
			return true
		}
	}
	return false
}

// spacesOf lists the group spaces userID belongs to, newest activity first.
func (st *State) spacesOf(userID string) []*Space {
	var out []*Space
	for _, s := range st.Spaces {
		if s.member(userID) != nil {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Modified.Equal(out[j].Modified) {
			return out[i].Modified.After(out[j].Modified)
		}
		return out[i].ID > out[j].ID
	})
	return out
}

// objectID makes a MongoDB-style ObjectId: 4 bytes of creation time in
// seconds, then 8 random bytes. The operator's crash recovery reads the
// timestamp, as it would of a real id.
func objectID(now time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(now.Unix()))
	_, _ = rand.Read(b[4:])
	return hex.EncodeToString(b[:])
}
