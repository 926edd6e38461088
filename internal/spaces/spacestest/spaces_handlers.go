package spacestest

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

var roles = map[string]bool{"admin": true, "member": true, "guest": true}

// spaceFor finds the space of the request's {id} and checks the caller's
// role in it: admin, or any member when anyMember. It answers 404 or 403
// itself and returns nil then.
func (s *Server) spaceFor(w http.ResponseWriter, r *http.Request, c caller, anyMember bool) *Space {
	sp := s.state.Spaces[r.PathValue("id")]
	if sp == nil {
		writeError(w, http.StatusNotFound, "space not found", "")
		return nil
	}
	m := sp.member(c.user.ID)
	if m == nil || (!anyMember && m.Role != "admin") {
		writeError(w, http.StatusForbidden, "the service account is not an admin of this space", "")
		return nil
	}
	return sp
}

type createBody struct {
	Topic *struct {
		Title       string `json:"title"`
		Description string `json:"description"`
		Type        string `json:"type"`
	} `json:"topic"`
	inviteBody
}

type inviteBody struct {
	Invitees      []InviteeWire `json:"invitees"`
	InformChannel string        `json:"informChannel"`
	InviteMode    string        `json:"inviteMode"`
}

// createSpace: POST /spaces/invite. The caller (or the act-as user) becomes
// the admin; invitees are invited as by POST /spaces/{id}/invite.
func (s *Server) createSpace(w http.ResponseWriter, r *http.Request, c caller) {
	var b createBody
	if !decodeBody(w, r, &b) {
		return
	}
	if b.Topic == nil || strings.TrimSpace(b.Topic.Title) == "" {
		writeError(w, http.StatusBadRequest, "topic.title is required", "")
		return
	}
	if b.Topic.Type != "" && b.Topic.Type != "group" {
		writeError(w, http.StatusBadRequest, "topic.type must be group", "")
		return
	}
	owner := c.user
	if actAs := strings.TrimSpace(r.Header.Get("X-Avaya-Act-As")); actAs != "" {
		// INFERRED (spaces-api.md §3.2): the act-as user must be in the
		// company's domain and exist.
		if !s.state.inCompanyDomain(actAs) {
			writeError(w, http.StatusForbidden, "X-Avaya-Act-As must be a user of the service account's company domain", "")
			return
		}
		if owner = s.state.userByEmail(actAs); owner == nil {
			writeError(w, http.StatusNotFound, "X-Avaya-Act-As names no user", "")
			return
		}
	}
	now := s.now()
	sp := &Space{ID: objectID(now), Title: b.Topic.Title, Description: b.Topic.Description, Type: "group", CID: owner.ID, Created: now, Modified: now,
		Members: []Member{{UserID: owner.ID, Role: "admin", JoinTime: now}}}
	if owner != c.user && s.opts.ActAsAddsServiceAccount {
		sp.Members = append(sp.Members, Member{UserID: c.user.ID, Role: "admin", JoinTime: now})
	}
	if msg := s.validateInvitees(b.Invitees); msg != "" {
		writeError(w, http.StatusBadRequest, msg, "")
		return
	}
	s.state.Spaces[sp.ID] = sp
	if owner != c.user && s.is(DialectActAsNotAdmin) {
		// The invitations go to the owner's pending list; nobody joins.
		for _, i := range b.Invitees {
			s.state.Invitations[s.state.invitationKey(i.Invitee)]++
		}
		b.Invitees = nil
	}
	writeJSON(w, s.invite(sp, owner, b.inviteBody))
}

// inviteToSpace: POST /spaces/{id}/invite (admin).
func (s *Server) inviteToSpace(w http.ResponseWriter, r *http.Request, c caller) {
	sp := s.spaceFor(w, r, c, false)
	if sp == nil {
		return
	}
	var b inviteBody
	if !decodeBody(w, r, &b) {
		return
	}
	if len(b.Invitees) == 0 {
		writeError(w, http.StatusBadRequest, "invitees is required", "")
		return
	}
	if msg := s.validateInvitees(b.Invitees); msg != "" {
		writeError(w, http.StatusBadRequest, msg, "")
		return
	}
	writeJSON(w, s.invite(sp, c.user, b))
}

func (s *Server) validateInvitees(invitees []InviteeWire) string {
	for i, inv := range invitees {
		typ := strings.ToLower(inv.InviteeType)
		if s.is(DialectUseridLowercase) {
			typ = inv.InviteeType
		}
		switch typ {
		case "email":
			if !strings.Contains(inv.Invitee, "@") {
				return "invitees[" + strconv.Itoa(i) + "].invitee is not an email"
			}
		case "userid":
			if s.state.Users[inv.Invitee] == nil {
				return "invitees[" + strconv.Itoa(i) + "].invitee names no user"
			}
		default:
			return "invitees[" + strconv.Itoa(i) + "].inviteeType must be email or userid"
		}
		if inv.Role != "" && !roles[inv.Role] {
			return "invitees[" + strconv.Itoa(i) + "].role must be admin, member or guest"
		}
	}
	return ""
}

// invite records one invitation document for the call. Known users become
// members at once with their role (INFERRED); existing members keep theirs.
func (s *Server) invite(sp *Space, inviter *User, b inviteBody) map[string]any {
	now := s.now()
	inv := &Invite{ID: objectID(now), TopicID: sp.ID, Invitees: b.Invitees, InformChannel: b.InformChannel, InviteMode: b.InviteMode, Created: now}
	if inv.InformChannel == "" {
		inv.InformChannel = "server"
	}
	if inv.InviteMode == "" {
		inv.InviteMode = "invite"
	}
	if inv.Invitees == nil {
		inv.Invitees = []InviteeWire{}
	}
	for _, i := range b.Invitees {
		var u *User
		if strings.EqualFold(i.InviteeType, "email") {
			u = s.state.userByEmail(i.Invitee)
		} else {
			u = s.state.Users[i.Invitee]
		}
		s.state.Invitations[s.state.invitationKey(i.Invitee)]++
		role := i.Role
		if role == "" {
			role = "member"
		}
		if u != nil && strings.EqualFold(i.InviteeType, "email") && s.is(DialectEmailInvitePending) {
			u = nil // pending until they accept
		}
		if u != nil && sp.member(u.ID) == nil {
			sp.Members = append(sp.Members, Member{UserID: u.ID, Role: role, JoinTime: now})
		}
	}
	s.state.Invites[inv.ID] = inv
	sp.Modified = now
	doc := map[string]any{
		"_id": inv.ID, "topicId": sp.ID, "invitees": inv.Invitees,
		"startDateTime": nil, "endDateTime": nil, "inviteMode": inv.InviteMode,
	}
	out := map[string]any{"data": []any{doc}}
	if s.is(DialectInviteAnswerObject) {
		out["data"] = doc
	}
	if inv.InformChannel == "client" {
		link := joinURL(inv.ID, sp.Title, inviter.Email)
		out["inviteContent"] = map[string]string{
			"text": "You are invited to " + sp.Title + ": " + link,
			"html": "<html><body><a href=\"" + link + "\">Join " + sp.Title + "</a></body></html>",
		}
	}
	return out
}

func (s *Server) getSpace(w http.ResponseWriter, r *http.Request, c caller) {
	if sp := s.spaceFor(w, r, c, false); sp != nil {
		writeJSON(w, s.spaceAnswer(sp))
	}
}

type updateBody struct {
	Title       *string   `json:"title"`
	Description *string   `json:"description"`
	Restrict    *[]string `json:"restrict"`
	Settings    *struct {
		MemberOnly         *bool `json:"memberOnly"`
		AllowPasswordInURL *bool `json:"allowPasswordInURL"`
		PasswordRequired   *struct {
			AllGuests *bool `json:"allGuests"`
		} `json:"passwordRequired"`
		// Where a public sample puts them; taken at either place.
		Restrict     *[]string     `json:"restrict"`
		MsgRetention *MsgRetention `json:"msgRetention"`
	} `json:"settings"`
	MsgRetention *MsgRetention `json:"msgRetention"`
}

// updateSpace: POST /spaces/{id} (admin), a partial update; settings merge.
func (s *Server) updateSpace(w http.ResponseWriter, r *http.Request, c caller) {
	sp := s.spaceFor(w, r, c, false)
	if sp == nil {
		return
	}
	var b updateBody
	if !decodeBody(w, r, &b) {
		return
	}
	if st := b.Settings; st != nil {
		if b.Restrict == nil {
			b.Restrict = st.Restrict
		}
		if b.MsgRetention == nil {
			b.MsgRetention = st.MsgRetention
		}
	}
	if b.Title != nil && strings.TrimSpace(*b.Title) == "" {
		writeError(w, http.StatusBadRequest, "title must not be empty", "")
		return
	}
	if rt := b.MsgRetention; rt != nil {
		switch {
		case rt.RetentionType == "delete_after_days" && rt.RetentionLength < 1:
			writeError(w, http.StatusBadRequest, "msgRetention.retentionLength must be at least 1 with delete_after_days", "")
			return
		case rt.RetentionType != "delete_after_days" && rt.RetentionType != "forever":
			writeError(w, http.StatusBadRequest, "msgRetention.retentionType must be forever or delete_after_days", "")
			return
		}
	}
	if st := b.Settings; st != nil && s.is(DialectSettingsReplace) {
		// The settings object is replaced: what it leaves out is reset,
		// restrictions and retention too where they live in it.
		sp.MemberOnly, sp.AllowPasswordInURL, sp.GuestsPassword = false, false, false
		if s.is(DialectSettingsNested) {
			sp.Restrict, sp.Retention = nil, nil
		}
	}
	if b.Title != nil {
		sp.Title = *b.Title
	}
	if b.Description != nil {
		sp.Description = *b.Description
	}
	if b.Restrict != nil {
		sp.Restrict = append([]string{}, (*b.Restrict)...)
	}
	if st := b.Settings; st != nil {
		if st.MemberOnly != nil {
			sp.MemberOnly = *st.MemberOnly
		}
		if st.AllowPasswordInURL != nil {
			sp.AllowPasswordInURL = *st.AllowPasswordInURL
		}
		if st.PasswordRequired != nil && st.PasswordRequired.AllGuests != nil {
			sp.GuestsPassword = *st.PasswordRequired.AllGuests
		}
	}
	if b.MsgRetention != nil {
		rt := *b.MsgRetention
		sp.Retention = &rt
	}
	sp.Modified = s.now()
	writeJSON(w, s.spaceAnswer(sp))
}

// deleteSpace: DELETE /spaces/{id} (admin).
func (s *Server) deleteSpace(w http.ResponseWriter, r *http.Request, c caller) {
	sp := s.spaceFor(w, r, c, false)
	if sp == nil {
		return
	}
	delete(s.state.Spaces, sp.ID)
	s.state.DeletedSpaces = append(s.state.DeletedSpaces, sp.ID)
	writeJSON(w, map[string]string{"_id": sp.ID})
}

// members: GET /spaces/{id}/members (any member), page style: size
// (default 30, at most 50) and page; {data, total} as CONFIRMED, without
// next/prev links.
func (s *Server) members(w http.ResponseWriter, r *http.Request, c caller) {
	sp := s.spaceFor(w, r, c, true)
	if sp == nil {
		return
	}
	maxSize := 50
	if s.is(DialectMembersSmallPages) {
		maxSize = 20
	}
	size, pageNo, ok := pageParams(w, r.URL.Query(), 30, maxSize)
	if !ok {
		return
	}
	from := min(pageNo*size, len(sp.Members))
	to := min(from+size, len(sp.Members))
	data := make([]map[string]any, 0, to-from)
	for _, m := range sp.Members[from:to] {
		data = append(data, s.memberAnswer(m))
	}
	out := map[string]any{"data": data, "total": len(sp.Members)}
	if s.is(DialectMembersLinks) {
		link := func(n int) string {
			q := r.URL.Query()
			q.Set("page", strconv.Itoa(n))
			q.Set("size", strconv.Itoa(size))
			return r.URL.Path + "?" + q.Encode()
		}
		out["nextPageUrl"], out["previousPageUrl"] = link(pageNo+1), ""
		if pageNo > 0 {
			out["previousPageUrl"] = link(pageNo - 1)
		}
	}
	writeJSON(w, out)
}

func (s *Server) attendeeType(w http.ResponseWriter, r *http.Request) bool {
	typ := r.PathValue("type")
	if !s.is(DialectUseridLowercase) {
		typ = strings.ToLower(typ)
	}
	switch typ {
	case "userid":
		return true
	case "anonymousid":
		writeError(w, http.StatusBadRequest, "an attendee added or changed this way cannot be anonymous", "")
	default:
		writeError(w, http.StatusBadRequest, "attendee type must be userid or anonymousid", "")
	}
	return false
}

// setAttendee: POST /spaces/{id}/attendees/{type}/{userId} (admin) adds the
// user with the role or changes their role.
func (s *Server) setAttendee(w http.ResponseWriter, r *http.Request, c caller) {
	sp := s.spaceFor(w, r, c, false)
	if sp == nil || !s.attendeeType(w, r) {
		return
	}
	var b struct {
		Role string `json:"role"`
	}
	if !decodeBody(w, r, &b) {
		return
	}
	if b.Role == "" {
		b.Role = "member"
	}
	if !roles[b.Role] || (b.Role == "guest" && s.is(DialectGuestAttendeeRefused)) {
		writeError(w, http.StatusBadRequest, "role must be admin or member", "")
		return
	}
	u := s.state.Users[r.PathValue("userId")]
	if u == nil {
		writeError(w, http.StatusNotFound, "user not found", "")
		return
	}
	if m := sp.member(u.ID); m != nil {
		m.Role = b.Role
	} else {
		sp.Members = append(sp.Members, Member{UserID: u.ID, Role: b.Role, JoinTime: s.now()})
	}
	sp.Modified = s.now()
	writeJSON(w, map[string]string{"attendee": u.ID, "attendeeType": s.userIDType(), "role": b.Role})
}

// removeAttendee: DELETE /spaces/{id}/attendees/{type}/{userId} (admin).
func (s *Server) removeAttendee(w http.ResponseWriter, r *http.Request, c caller) {
	sp := s.spaceFor(w, r, c, false)
	if sp == nil || !s.attendeeType(w, r) {
		return
	}
	id := r.PathValue("userId")
	for i, m := range sp.Members {
		if m.UserID == id {
			sp.Members = append(sp.Members[:i], sp.Members[i+1:]...)
			sp.Modified = s.now()
			writeJSON(w, map[string]string{"attendee": id, "attendeeType": s.userIDType()})
			return
		}
	}
	writeError(w, http.StatusNotFound, "not a member of the space", "")
}

// directSpace: GET /spaces/direct/user/{id} gets or creates the 1:1 space.
func (s *Server) directSpace(w http.ResponseWriter, r *http.Request, c caller) {
	other := s.state.Users[r.PathValue("id")]
	if other == nil {
		writeError(w, http.StatusNotFound, "user not found in the company", "")
		return
	}
	for _, sp := range s.state.Spaces {
		if sp.Type == "direct" && sp.member(c.user.ID) != nil && sp.member(other.ID) != nil {
			writeJSON(w, map[string]any{"data": []any{s.spaceAnswer(sp)}})
			return
		}
	}
	now := s.now()
	sp := &Space{ID: objectID(now), Type: "direct", CID: c.user.ID, Created: now, Modified: now,
		Members: []Member{{UserID: c.user.ID, Role: "member", JoinTime: now}, {UserID: other.ID, Role: "member", JoinTime: now}}}
	s.state.Spaces[sp.ID] = sp
	writeJSON(w, map[string]any{"data": []any{s.spaceAnswer(sp)}})
}

// mySpaces: GET /users/me/spaces, reference style: size (default 10, at
// most 50), search (a regular expression over titles), topictype (group by
// default, all = group and direct), pageToken; nextPageUrl "end" when done.
func (s *Server) mySpaces(w http.ResponseWriter, r *http.Request, c caller) {
	q := r.URL.Query()
	size, search, ok := listParams(w, q)
	if !ok {
		return
	}
	types := map[string]bool{"group": true}
	if v := q.Get("topictype"); v != "" {
		types = map[string]bool{}
		for _, t := range strings.Split(v, ",") {
			if t == "all" {
				types["group"], types["direct"] = true, true
			} else {
				types[t] = true
			}
		}
	}
	if s.is(DialectSearchIgnored) {
		search = nil
	}
	var all []map[string]any
	for _, sp := range s.state.spacesOf(c.user.ID) {
		if types[sp.Type] && (search == nil || search.MatchString(sp.Title)) {
			all = append(all, s.spaceAnswer(sp))
		}
	}
	writeJSON(w, refPage(r, all, size))
}

// listParams reads the size (default 10, at most 50) and search parameters
// of the reference-style lists.
func listParams(w http.ResponseWriter, q url.Values) (int, *regexp.Regexp, bool) {
	size, _, ok := pageParams(w, q, 10, 50)
	if !ok {
		return 0, nil, false
	}
	search, ok := searchParam(w, q)
	return size, search, ok
}

// searchParam compiles the search query parameter, a regular expression as
// Spaces takes it; nil when absent.
func searchParam(w http.ResponseWriter, q url.Values) (*regexp.Regexp, bool) {
	v := q.Get("search")
	if v == "" {
		return nil, true
	}
	re, err := regexp.Compile(v)
	if err != nil {
		writeError(w, http.StatusBadRequest, "search is not a valid regular expression", "")
		return nil, false
	}
	return re, true
}

// refPage cuts a reference-style page at pageToken (an offset here).
func refPage(r *http.Request, all []map[string]any, size int) map[string]any {
	offset, _ := strconv.Atoi(r.URL.Query().Get("pageToken"))
	offset = min(max(offset, 0), len(all))
	end := min(offset+size, len(all))
	data := all[offset:end]
	if data == nil {
		data = []map[string]any{}
	}
	next := "end"
	if end < len(all) {
		q := r.URL.Query()
		q.Set("pageToken", strconv.Itoa(end))
		next = r.URL.Path + "?" + q.Encode()
	}
	return map[string]any{"data": data, "total": len(data), "nextPageUrl": next, "prevPageUrl": ""}
}

// pageParams reads size (clamped to max) and the 0-based page.
func pageParams(w http.ResponseWriter, q url.Values, def, max int) (size, page int, ok bool) {
	size, page = def, 0
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "size must be a positive number", "")
			return 0, 0, false
		}
		size = min(n, max)
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "page must be a number from 0", "")
			return 0, 0, false
		}
		page = n
	}
	return size, page, true
}
