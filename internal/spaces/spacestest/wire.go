package spacestest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// Renderings of the state in the CONFIRMED wire shapes of spaces-api.md.

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (st *State) spaceWire(sp *Space) map[string]any {
	members := make([]map[string]any, 0, len(sp.Members))
	for _, m := range sp.Members {
		members = append(members, st.memberWire(m))
	}
	restrict := sp.Restrict
	if restrict == nil {
		restrict = []string{}
	}
	out := map[string]any{
		"_id":         sp.ID,
		"title":       sp.Title,
		"description": sp.Description,
		"type":        sp.Type,
		"status":      sp.Status,
		"cid":         sp.CID,
		"settings": map[string]any{
			"confId":              fmt.Sprintf("%09d", len(sp.ID)*7919),
			"confPin":             "",
			"encryptedPassword":   "",
			"allowPasswordInURL":  sp.AllowPasswordInURL,
			"memberOnly":          sp.MemberOnly,
			"passwordRequired":    map[string]any{"allGuests": sp.GuestsPassword},
			"mdSrv":               "mpaas",
			"mdOpts":              []string{},
			"autoStart":           false,
			"hideAutoStartPrompt": false,
			"mpaasSettings": map[string]any{
				"eventConference": map[string]any{"enable": false, "startDate": nil, "endDate": nil, "hostingContinent": "EU"},
				"mixerMode":       "OPTIMIZED_PROCESSED",
				"maxResolution":   "720P",
			},
		},
		"restrict": restrict,
		"members":  members,
	}
	if sp.Retention != nil {
		out["msgRetention"] = sp.Retention
	} else {
		out["msgRetention"] = MsgRetention{RetentionType: "forever"}
	}
	return out
}

func (st *State) memberWire(m Member) map[string]any {
	out := map[string]any{
		"member":        m.UserID,
		"memberType":    "userId",
		"role":          m.Role,
		"joinTime":      isoTime(m.JoinTime),
		"phone_numbers": []string{},
	}
	if u := st.Users[m.UserID]; u != nil {
		out["username"] = u.Email
		out["displayname"] = u.displayName()
	}
	return out
}

func (st *State) userWire(u *User) map[string]any {
	phones := []map[string]string{}
	if u.Workphone != "" {
		phones = append(phones, map[string]string{"type": "work", "number": u.Workphone})
	}
	if u.Cellphone != "" {
		phones = append(phones, map[string]string{"type": "mobile", "number": u.Cellphone})
	}
	licenses := []map[string]any{}
	if u.LicenseType != "" {
		licenses = append(licenses, map[string]any{"product_type": "zangspaces", "service_type": u.LicenseType, "trial": false, "parent_type": "company"})
	}
	perms := u.Permissions
	if perms == nil {
		perms = []string{"USERSELF_PERMISSION_GROUP"}
	}
	return map[string]any{
		"_id":            u.ID,
		"username":       u.Email,
		"displayname":    u.displayName(),
		"aType":          "user",
		"emails":         []map[string]any{{"primary": true, "value": u.Email}},
		"phone_numbers":  phones,
		"permissions":    perms,
		"licenses":       licenses,
		"lastupdatetime": isoTime(u.Created),
		"timezone":       "UTC",
		"picture_url":    "https://storage.googleapis.com/fake/norevimages/noimage.jpg",
		"name":           map[string]any{"givenname": u.FirstName, "familyname": u.LastName},
	}
}

func (st *State) messageWire(m *Message) map[string]any {
	out := map[string]any{
		"_id":      m.ID,
		"category": m.Category,
		"topicId":  m.TopicID,
		"content":  m.Content,
		"created":  isoTime(m.Created),
		"modified": isoTime(m.Modified),
	}
	if sp := st.Spaces[m.TopicID]; sp != nil {
		out["topicTitle"], out["topicType"] = sp.Title, sp.Type
	}
	if u := st.Users[m.SenderID]; u != nil {
		out["sender"] = map[string]any{"_id": u.ID, "type": "user", "username": u.Email, "displayname": u.displayName()}
	}
	if m.ParentID != "" {
		if p := st.Messages[m.ParentID]; p != nil {
			out["parentMsg"] = map[string]any{"_id": p.ID, "bodyText": p.Content["bodyText"], "category": p.Category}
		}
	}
	return out
}

// joinURL is the CONFIRMED invitation link format.
func joinURL(inviteID, spaceName, inviter string) string {
	info, _ := json.Marshal(map[string]string{"spaceName": spaceName, "inviterName": inviter, "inviterEmail": inviter})
	return "https://spaces.avayacloud.com/spaces/invites/" + inviteID + "/join?inviteInfo=" + base64.StdEncoding.EncodeToString(info)
}

// spaceAnswer is a space as the dialect sends it. The caller holds s.mu.
func (s *Server) spaceAnswer(sp *Space) map[string]any {
	out := s.state.spaceWire(sp)
	if s.is(DialectSettingsNested) {
		settings := out["settings"].(map[string]any)
		settings["restrict"], settings["msgRetention"] = out["restrict"], out["msgRetention"]
		delete(out, "restrict")
		delete(out, "msgRetention")
	}
	if s.is(DialectSpaceWithoutMembers) {
		delete(out, "members")
	} else {
		for _, m := range out["members"].([]map[string]any) {
			m["memberType"] = s.userIDType()
		}
	}
	return out
}

// memberAnswer is a member entry as the dialect sends it.
func (s *Server) memberAnswer(m Member) map[string]any {
	out := s.state.memberWire(m)
	out["memberType"] = s.userIDType()
	return out
}

// userIDType is how the dialect spells the user-id attendee type.
func (s *Server) userIDType() string {
	if s.is(DialectUseridLowercase) {
		return "userid"
	}
	return "userId"
}
