package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"

	"github.com/avayacloud/spaces-operator/internal/spaces"
)

// probe makes read-only calls and reports, for each unknown of the wire
// format the operator copes with, what this server answered. Nothing is
// written to Spaces; no secret is printed.
func probe(ctx context.Context, c *spaces.Client, out io.Writer) error {
	say := func(unknown, finding string) { fmt.Fprintf(out, "%-22s %s\n", unknown+":", finding) }
	get := func(path string, q url.Values) (spaces.ProbeAnswer, map[string]any, error) {
		a, err := c.Probe(ctx, path, q, false)
		var doc map[string]any
		_ = json.Unmarshal(a.Body, &doc)
		return a, doc, err
	}

	me, meDoc, err := get("/users/me", nil)
	if err != nil {
		return err
	}
	if me.Status != 200 {
		return fmt.Errorf("GET /users/me answered %d: %s", me.Status, spaces.Sanitize(string(me.Body)))
	}
	say("ids", idPlacement(meDoc))
	say("phone numbers", shapeOf(meDoc["phone_numbers"]))

	bad, err := c.Probe(ctx, "/users/me", nil, true)
	if err == nil {
		say("refused token", fmt.Sprintf("answered %d (the operator re-mints once on 401, and on 403 at most every 5 min)", bad.Status))
	}

	nf, nfDoc, err := get("/spaces/000000000000000000000000", nil)
	if err == nil {
		say("error body", fmt.Sprintf("%d with %s", nf.Status, errorPlacement(nfDoc)))
	}

	list, listDoc, err := get("/users/me/spaces", url.Values{"size": {"5"}})
	if err != nil || list.Status != 200 {
		say("space listing", fmt.Sprintf("answered %d; crash recovery cannot list spaces with this key", list.Status))
		return nil
	}
	say("space listing", "paging fields: "+keysOf(listDoc, "data"))
	none, noneDoc, err := get("/users/me/spaces", url.Values{"size": {"5"}, "search": {"^spacesctl-probe-no-such-space$"}})
	if err == nil && none.Status == 200 {
		if items, _ := noneDoc["data"].([]any); len(items) > 0 {
			say("search", "ignored (a search matching nothing listed spaces); recovery filters titles itself")
		} else {
			say("search", "honoured")
		}
	}
	items, _ := listDoc["data"].([]any)
	if len(items) == 0 {
		say("spaces", "the service account is in no space: placement of settings and members not probed (create one, then probe again)")
		return nil
	}
	first, _ := items[0].(map[string]any)
	id, _ := first["_id"].(string)
	if id == "" {
		id, _ = first["id"].(string)
	}
	sp, spDoc, err := get("/spaces/"+url.PathEscape(id), nil)
	if err == nil && sp.Status == 200 {
		settings, _ := spDoc["settings"].(map[string]any)
		_, flat := spDoc["restrict"]
		_, nested := settings["restrict"]
		switch {
		case flat && nested:
			say("settings placement", "restrict both at the top and under settings")
		case nested:
			say("settings placement", "restrict and msgRetention under settings")
		case flat:
			say("settings placement", "restrict and msgRetention at the top")
		default:
			say("settings placement", "no restrict in the space (placement unknown; both are read)")
		}
		if _, ok := spDoc["members"]; ok {
			say("space members", "the space lists its members")
		} else {
			say("space members", "the space lists no members")
		}
	} else {
		say("space read", fmt.Sprintf("GET /spaces/%s answered %d", id, sp.Status))
	}
	m, mDoc, err := get("/spaces/"+url.PathEscape(id)+"/members", url.Values{"size": {"1"}, "page": {"0"}})
	if err == nil {
		switch {
		case m.Status == 403:
			say("members route", "refused to the service app (403): SpaceInvites read membership from the space, or report JoinedState, RoleChanges and Prune as limitations")
		case m.Status == 200:
			data, _ := mDoc["data"].([]any)
			say("members route", fmt.Sprintf("allowed; asked 1, got %d; fields: %s", len(data), keysOf(mDoc, "data")))
		default:
			say("members route", fmt.Sprintf("answered %d", m.Status))
		}
	}
	return nil
}

func idPlacement(doc map[string]any) string {
	_, under := doc["_id"]
	_, plain := doc["id"]
	switch {
	case under && plain:
		return "both _id and id"
	case plain:
		return "id (no _id)"
	case under:
		return "_id"
	}
	return "no id field"
}

func shapeOf(v any) string {
	switch v.(type) {
	case nil:
		return "absent"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func errorPlacement(doc map[string]any) string {
	if _, ok := doc["message"]; ok {
		return "message at the top"
	}
	if e, ok := doc["error"].(map[string]any); ok {
		if _, ok := e["message"]; ok {
			return "message under error"
		}
	}
	return "no message field"
}

func keysOf(doc map[string]any, skip string) string {
	var keys []string
	for k := range doc {
		if k != skip {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return "none"
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
