package spaces_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/avayacloud/spaces-operator/internal/spaces"
)

// TestDecode_LiberalReads: what the real Spaces may send, whichever way
// the INFERRED points turn out, reads as the same state.
func TestDecode_LiberalReads(t *testing.T) {
	for _, tc := range []struct {
		name, body string
	}{
		{"flat", `{"_id":"5f1051f0f3ed772f915e19ed","title":"T","restrict":["deny_guest_access_history_msg"],"msgRetention":{"retentionType":"delete_after_days","retentionLength":30},"settings":{"memberOnly":true}}`},
		{"under settings", `{"_id":"5f1051f0f3ed772f915e19ed","title":"T","settings":{"memberOnly":true,"restrict":["deny_guest_access_history_msg"],"msgRetention":{"retentionType":"delete_after_days","retentionLength":30}}}`},
		{"id beside _id", `{"id":"5f1051f0f3ed772f915e19ed","title":"T","settings":{"memberOnly":true,"restrict":["deny_guest_access_history_msg"],"msgRetention":{"retentionType":"delete_after_days","retentionLength":30}}}`},
	} {
		var s spaces.Space
		if err := json.Unmarshal([]byte(tc.body), &s); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if s.ID != "5f1051f0f3ed772f915e19ed" || len(s.Restrict) != 1 || s.MsgRetention == nil || s.MsgRetention.RetentionLength != 30 ||
			s.Settings.MemberOnly == nil || !*s.Settings.MemberOnly {
			t.Errorf("%s: %+v", tc.name, s)
		}
	}
	for _, phones := range []string{`[]`, `["+15550100"]`, `[{"type":"work","number":"+15550100"}]`, `[{"phoneNumber":"+1","kind":1}]`, `{"work":"+1"}`, `null`} {
		var u spaces.User
		if err := json.Unmarshal([]byte(`{"_id":"x","phone_numbers":`+phones+`}`), &u); err != nil || u.ID != "x" {
			t.Errorf("phone_numbers %s: %v", phones, err)
		}
	}
}

// TestDecode_AnswerWithoutAList: a listing answered with null or {} is an
// error, never "nothing there" (crash recovery would read that as "the
// create did not land" and create again).
func TestDecode_AnswerWithoutAList(t *testing.T) {
	for _, body := range []string{`null`, `{}`, `{"items":[{"_id":"5f1051f0f3ed772f915e19ed"}]}`} {
		s := newHostile(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		})
		_, err := clientOf(t, s.URL+"/api").MySpaces(context.Background(), spaces.MySpacesQuery{Search: "^T$"})
		if err == nil || !strings.Contains(err.Error(), "no data list") {
			t.Errorf("%s: err = %v", body, err)
		}
		// A user lookup too: "nobody exists" would make a user set create.
		_, err = clientOf(t, s.URL+"/api").ColleaguesBulk(context.Background(), []string{"a@corp.example"})
		if err == nil || !strings.Contains(err.Error(), "no data list") {
			t.Errorf("colleaguesbulk %s: err = %v", body, err)
		}
	}
}
