package spaces

import "net/http"

// Endpoint describes one Spaces API route: its metric label, the scope the
// service app needs for it (from the seed document's scopes table), and
// whether repeating it is safe, which decides whether a 5xx or a network
// error may be retried.
type Endpoint struct {
	// Name is the method and path template, e.g. "GET /spaces/{id}"; it is
	// the endpoint label of the metrics.
	Name string
	// Method is the HTTP method.
	Method string
	// Scope is the service-app scope the route needs; "" where the seed's
	// table names none.
	Scope string
	// Idempotent routes may be retried after a 5xx or a network error: doing
	// them twice has the effect of doing them once.
	Idempotent bool
}

// The routes of the seed's scopes table, plus GET /users/me and membership.
// Routes marked INFERRED are not in the table; their scope is our best guess
// (spaces-api.md §6, item 12).
var (
	EndpointUsersBulkUpdate = Endpoint{"POST /users/bulkupdateaccounts", http.MethodPost, "accounts.users.bulk.write", false}
	EndpointChatCreate      = Endpoint{"POST /spaces/{id}/chats", http.MethodPost, "spaces.chat.create", false}
	EndpointMessagesByRef   = Endpoint{"GET /spaces/{id}/messages/byref", http.MethodGet, "spaces.chat.read", true}
	EndpointSpaceCreate     = Endpoint{"POST /spaces/invite", http.MethodPost, "spaces.create", false}
	// EndpointSpaceCreateActAs is POST /spaces/invite with X-Avaya-Act-As.
	EndpointSpaceCreateActAs = Endpoint{"POST /spaces/invite (act-as)", http.MethodPost, "spaces.create.actas", false}
	EndpointSpaceDelete      = Endpoint{"DELETE /spaces/{id}", http.MethodDelete, "spaces.delete", true}
	// EndpointDirectSpace gets or creates; a repeat returns the same space.
	EndpointDirectSpace    = Endpoint{"GET /spaces/direct/user/{id}", http.MethodGet, "spaces.direct.create", true}
	EndpointSpaceInvite    = Endpoint{"POST /spaces/{id}/invite", http.MethodPost, "spaces.invite.write", false}
	EndpointMySpaces       = Endpoint{"GET /users/me/spaces", http.MethodGet, "spaces.list", true}
	EndpointSpaceGet       = Endpoint{"GET /spaces/{id}", http.MethodGet, "spaces.settings.read", true}
	EndpointSpaceUpdate    = Endpoint{"POST /spaces/{id}", http.MethodPost, "spaces.settings.write", true}
	EndpointColleagues     = Endpoint{"GET /users/me/colleagues", http.MethodGet, "users.search", true}
	EndpointColleaguesBulk = Endpoint{"POST /users/me/colleaguesbulk", http.MethodPost, "users.search.bulk", true}
	EndpointPostsGet       = Endpoint{"GET /spaces/{id}/ideas", http.MethodGet, "spaces.post.read", true}
	EndpointPostCreate     = Endpoint{"POST /spaces/{id}/ideas", http.MethodPost, "spaces.post.create", false}
	// The seed's table prints "/spaces/{spaceId}/task"; every public client
	// calls /tasks, so that is what we call.
	EndpointTasksGet      = Endpoint{"GET /spaces/{id}/tasks", http.MethodGet, "spaces.task.read", true}
	EndpointTaskCreate    = Endpoint{"POST /spaces/{id}/tasks", http.MethodPost, "spaces.task.create", false}
	EndpointMessageUpdate = Endpoint{"POST /messages/{id}", http.MethodPost, "spaces.messages.write", true}

	EndpointUsersMe = Endpoint{"GET /users/me", http.MethodGet, "", true}
	// INFERRED: membership listing needs the same scope as reading the space.
	EndpointSpaceMembers = Endpoint{"GET /spaces/{id}/members", http.MethodGet, "spaces.settings.read", true}
	// INFERRED: adding, re-roling and removing members is invitation work.
	EndpointAttendeeSet    = Endpoint{"POST /spaces/{id}/attendees/userId/{userId}", http.MethodPost, "spaces.invite.write", true}
	EndpointAttendeeRemove = Endpoint{"DELETE /spaces/{id}/attendees/userId/{userId}", http.MethodDelete, "spaces.invite.write", true}
)

// Endpoints lists every route the client calls.
func Endpoints() []Endpoint {
	return []Endpoint{
		EndpointUsersBulkUpdate, EndpointChatCreate, EndpointMessagesByRef, EndpointSpaceCreate,
		EndpointSpaceCreateActAs, EndpointSpaceDelete, EndpointDirectSpace, EndpointSpaceInvite,
		EndpointMySpaces, EndpointSpaceGet, EndpointSpaceUpdate, EndpointColleagues,
		EndpointColleaguesBulk, EndpointPostsGet, EndpointPostCreate, EndpointTasksGet,
		EndpointTaskCreate, EndpointMessageUpdate, EndpointUsersMe, EndpointSpaceMembers,
		EndpointAttendeeSet, EndpointAttendeeRemove,
	}
}
