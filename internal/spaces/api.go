package spaces

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Batch limits of the Spaces API.
const (
	// MaxBulkOperations is the most operations one bulk account call takes.
	MaxBulkOperations = 10
	// MaxColleaguesBulkEmails is the most emails one colleaguesbulk call
	// reads; Spaces silently ignores the rest.
	MaxColleaguesBulkEmails = 50
	// mySpacesPageSize is the largest page GET /users/me/spaces serves.
	mySpacesPageSize = 50
	// membersPageSize is the page size asked of GET /spaces/{id}/members.
	membersPageSize = 50
)

// ActAsHeader makes a service app create a space on a user's behalf.
const ActAsHeader = "X-Avaya-Act-As"

func spacePath(id string, rest ...string) string {
	p := "/spaces/" + url.PathEscape(id)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// Me returns the service account the key belongs to (GET /users/me).
func (c *Client) Me(ctx context.Context) (*User, error) {
	return getOne[User](ctx, c, request{ep: EndpointUsersMe, path: "/users/me"})
}

// CreateSpace creates a group space (POST /spaces/invite). With actAs set,
// the space is created on that user's behalf (X-Avaya-Act-As, scope
// spaces.create.actas). The new space's id is resp.Data[0].TopicID.
// Never retried after a 5xx or a network error: the space may exist.
func (c *Client) CreateSpace(ctx context.Context, req CreateSpaceRequest, actAs string) (*InviteResponse, error) {
	if req.Topic.Type == "" {
		req.Topic.Type = "group"
	}
	if req.Invitees == nil {
		req.Invitees = []Invitee{}
	}
	r := request{ep: EndpointSpaceCreate, path: "/spaces/invite", body: req}
	if actAs != "" {
		r.ep = EndpointSpaceCreateActAs
		r.header = http.Header{ActAsHeader: []string{actAs}}
	}
	resp, err := call[InviteResponse](ctx, c, r)
	if err != nil {
		return nil, err
	}
	if len(resp.Data) == 0 || resp.Data[0].TopicID == "" {
		return nil, &Error{Kind: KindUnavailable, Endpoint: r.ep, StatusCode: http.StatusOK, Message: "the response names no space (data[0].topicId)"}
	}
	return resp, nil
}

// GetSpace returns a space with its settings and members (GET /spaces/{id}).
func (c *Client) GetSpace(ctx context.Context, id string) (*Space, error) {
	return getOne[Space](ctx, c, request{ep: EndpointSpaceGet, path: spacePath(id)})
}

// UpdateSpace changes a space's title or settings (POST /spaces/{id}) and
// returns the updated space.
func (c *Client) UpdateSpace(ctx context.Context, id string, update SpaceUpdate) (*Space, error) {
	return getOne[Space](ctx, c, request{ep: EndpointSpaceUpdate, path: spacePath(id), body: update})
}

// DeleteSpace deletes a space (DELETE /spaces/{id}). A 404 is returned as
// such; callers deleting treat it as done.
func (c *Client) DeleteSpace(ctx context.Context, id string) error {
	_, err := c.do(ctx, request{ep: EndpointSpaceDelete, path: spacePath(id)})
	return err
}

// DirectSpace gets or creates the 1:1 space with a user
// (GET /spaces/direct/user/{userId}).
func (c *Client) DirectSpace(ctx context.Context, userID string) (*Space, error) {
	return getOne[Space](ctx, c, request{ep: EndpointDirectSpace, path: "/spaces/direct/user/" + url.PathEscape(userID)})
}

// MySpacesQuery filters GET /users/me/spaces.
type MySpacesQuery struct {
	// Search is Spaces' regular expression over titles ("^x" begins with).
	Search string
	// TopicType is group (Spaces' default), direct, personal or all.
	TopicType string
}

// MySpaces lists the spaces of the service account, every page
// (GET /users/me/spaces).
func (c *Client) MySpaces(ctx context.Context, q MySpacesQuery) ([]Space, error) {
	query := url.Values{"size": {strconv.Itoa(mySpacesPageSize)}}
	if q.Search != "" {
		query.Set("search", q.Search)
	}
	if q.TopicType != "" {
		query.Set("topictype", q.TopicType)
	}
	return getPages[Space](ctx, c, request{ep: EndpointMySpaces, path: "/users/me/spaces", query: query}, 0)
}

// Invite invites people into a space (POST /spaces/{id}/invite). Never
// retried after a 5xx or a network error.
func (c *Client) Invite(ctx context.Context, spaceID string, req InviteRequest) (*InviteResponse, error) {
	return call[InviteResponse](ctx, c, request{ep: EndpointSpaceInvite, path: spacePath(spaceID, "invite"), body: req})
}

// SpaceMembers lists every member of a space (GET /spaces/{id}/members).
func (c *Client) SpaceMembers(ctx context.Context, spaceID string) ([]Member, error) {
	r := request{ep: EndpointSpaceMembers, path: spacePath(spaceID, "members"), query: url.Values{"size": {strconv.Itoa(membersPageSize)}, "page": {"0"}}}
	return getPages[Member](ctx, c, r, membersPageSize)
}

// SetAttendee adds a user to a space with role, or changes their role
// (POST /spaces/{id}/attendees/userId/{userId}).
func (c *Client) SetAttendee(ctx context.Context, spaceID, userID, role string) (*Attendee, error) {
	return getOne[Attendee](ctx, c, request{ep: EndpointAttendeeSet, path: spacePath(spaceID, "attendees", InviteeTypeUserID, url.PathEscape(userID)), body: map[string]string{"role": role}})
}

// RemoveAttendee removes a user from a space
// (DELETE /spaces/{id}/attendees/userId/{userId}).
func (c *Client) RemoveAttendee(ctx context.Context, spaceID, userID string) (*Attendee, error) {
	return getOne[Attendee](ctx, c, request{ep: EndpointAttendeeRemove, path: spacePath(spaceID, "attendees", InviteeTypeUserID, url.PathEscape(userID))})
}

// SendChat posts a chat message (POST /spaces/{id}/chats).
func (c *Client) SendChat(ctx context.Context, spaceID string, req ChatRequest) (*Message, error) {
	return getOne[Message](ctx, c, request{ep: EndpointChatCreate, path: spacePath(spaceID, "chats"), body: req})
}

// MessagesByRef returns up to limit of a space's newest messages, following
// pages (GET /spaces/{id}/messages/byref).
func (c *Client) MessagesByRef(ctx context.Context, spaceID string, limit int) ([]Message, error) {
	size := min(max(limit, 1), 50)
	r := request{ep: EndpointMessagesByRef, path: spacePath(spaceID, "messages", "byref"), query: url.Values{"size": {strconv.Itoa(size)}}}
	return getPages[Message](ctx, c, r, 0, limit)
}

// Posts lists a space's posts (GET /spaces/{id}/ideas).
func (c *Client) Posts(ctx context.Context, spaceID string) ([]Message, error) {
	return getPages[Message](ctx, c, request{ep: EndpointPostsGet, path: spacePath(spaceID, "ideas")}, 0)
}

// CreatePost creates a post (POST /spaces/{id}/ideas).
func (c *Client) CreatePost(ctx context.Context, spaceID string, req PostRequest) (*Message, error) {
	return getOne[Message](ctx, c, request{ep: EndpointPostCreate, path: spacePath(spaceID, "ideas"), body: req})
}

// Tasks lists a space's tasks (GET /spaces/{id}/tasks).
func (c *Client) Tasks(ctx context.Context, spaceID string) ([]Message, error) {
	return getPages[Message](ctx, c, request{ep: EndpointTasksGet, path: spacePath(spaceID, "tasks")}, 0)
}

// CreateTask creates a task (POST /spaces/{id}/tasks).
func (c *Client) CreateTask(ctx context.Context, spaceID string, req TaskRequest) (*Message, error) {
	if req.Assignees == nil {
		req.Assignees = []string{}
	}
	return getOne[Message](ctx, c, request{ep: EndpointTaskCreate, path: spacePath(spaceID, "tasks"), body: req})
}

// UpdateMessage edits a post, task or chat message (POST /messages/{id}).
func (c *Client) UpdateMessage(ctx context.Context, req MessageUpdate) (*Message, error) {
	return getOne[Message](ctx, c, request{ep: EndpointMessageUpdate, path: "/messages/" + url.PathEscape(req.ID), body: req})
}

// Colleagues searches users of the company, every page
// (GET /users/me/colleagues).
func (c *Client) Colleagues(ctx context.Context, search string) ([]User, error) {
	q := url.Values{"size": {"50"}}
	if search != "" {
		q.Set("search", search)
	}
	return getPages[User](ctx, c, request{ep: EndpointColleagues, path: "/users/me/colleagues", query: q}, 0)
}

// ColleaguesBulk looks users up by email (POST /users/me/colleaguesbulk), in
// calls of at most MaxColleaguesBulkEmails. Emails with no user are simply
// absent from the result.
func (c *Client) ColleaguesBulk(ctx context.Context, emails []string) ([]User, error) {
	var users []User
	for chunk := range chunks(emails, MaxColleaguesBulkEmails) {
		p, err := call[page[User]](ctx, c, request{ep: EndpointColleaguesBulk, path: "/users/me/colleaguesbulk", body: chunk})
		if err != nil {
			return users, err
		}
		if p.Data == nil {
			// null or {}: not "nobody exists", which a user set would
			// answer with creates.
			return users, noDataList(EndpointColleaguesBulk)
		}
		users = append(users, p.Data...)
	}
	return users, nil
}

// chunks yields s in slices of at most n.
func chunks[T any](s []T, n int) func(func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

// call sends r and decodes the whole body into a T.
func call[T any](ctx context.Context, c *Client, r request) (*T, error) {
	return send[T](ctx, c, r, decodeInto)
}

// getOne sends r and decodes one object, bare or wrapped in data.
func getOne[T any](ctx context.Context, c *Client, r request) (*T, error) {
	return send[T](ctx, c, r, decodeOne)
}

func send[T any](ctx context.Context, c *Client, r request, decode func(Endpoint, []byte, any) error) (*T, error) {
	body, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	out := new(T)
	if err := decode(r.ep, body, out); err != nil {
		return nil, err
	}
	return out, nil
}

// getPages follows a list through its pages. Spaces' own nextPageUrl is
// followed while it is neither empty nor "end". For page-style lists
// (pageSize > 0) that send no nextPageUrl, the next page number is asked for
// while pages come back full. An optional limit stops early.
func getPages[T any](ctx context.Context, c *Client, r request, pageSize int, limit ...int) ([]T, error) {
	var items []T
	seen := map[string]bool{}
	total := 0
	for pageNo := 0; pageNo < MaxPages; pageNo++ {
		body, err := c.do(ctx, r)
		if err != nil {
			return nil, err
		}
		if total += len(body); total > MaxListingBytes {
			return nil, &Error{Kind: KindUnavailable, Endpoint: r.ep, StatusCode: http.StatusOK,
				Message: fmt.Sprintf("the listing's pages add up to more than %d MiB; the operator reads no more", MaxListingBytes>>20)}
		}
		p := new(page[T])
		if err := decodeInto(r.ep, body, p); err != nil {
			return nil, err
		}
		if p.Data == nil {
			// null, {} or a list under another name: not "nothing there",
			// which recovery would take as "the create did not land".
			return nil, noDataList(r.ep)
		}
		if len(p.Data) == 0 {
			return items, nil // an empty page ends a listing, whatever its links say
		}
		items = append(items, p.Data...)
		if len(limit) > 0 && len(items) >= limit[0] {
			return items[:limit[0]], nil
		}
		// A page-style total counts the whole list (reference-style pages
		// count themselves): it ends the listing, or says it goes on
		// though the server paged below the size asked.
		counted := pageSize > 0 && p.Total != nil
		if counted && len(items) >= *p.Total {
			return items, nil
		}
		next := strings.TrimSpace(p.NextPageURL)
		switch {
		case next != "" && next != "end":
			if seen[next] {
				return nil, &Error{Kind: KindUnavailable, Endpoint: r.ep, StatusCode: http.StatusOK, Message: "the server's pages loop"}
			}
			seen[next] = true
			r.path, r.query = next, nil
		case pageSize > 0 && (len(p.Data) >= pageSize || counted) && r.query != nil:
			q := url.Values{}
			for k, v := range r.query {
				q[k] = v
			}
			q.Set("page", strconv.Itoa(pageNo+1))
			r.query = q
		default:
			return items, nil
		}
	}
	return nil, &Error{Kind: KindUnavailable, Endpoint: r.ep, StatusCode: http.StatusOK,
		Message: fmt.Sprintf("the listing goes on for more than %d pages; the operator reads no more", MaxPages)}
}

// noDataList is the error of a list answer without its data list (null,
// {}, or a list under another name): never "nothing there", which the next
// step would answer with a create.
func noDataList(ep Endpoint) error {
	return &Error{Kind: KindUnavailable, Endpoint: ep, StatusCode: http.StatusOK, Message: "the answer holds no data list"}
}
