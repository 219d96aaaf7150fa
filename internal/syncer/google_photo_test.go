package syncer_test

import (
	"bytes"
	"image"
	"image/png"
	"net/http"
	"testing"

	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// TestGoogleKeepsPhotoAndTags: Google's contacts carry neither Tandem's
// photo nor its categories (the user's personal tags); a Google sync
// never clears them, whichever side changes.
func TestGoogleKeepsPhotoAndTags(t *testing.T) {
	f := connectGoogle(t, tandemtest.Options{})
	var vip struct{ ID string }
	f.api.JSON(t, "POST", "/api/v1/tags", map[string]any{"name": "VIP"}, 201, &vip)
	var ann struct{ ID string }
	f.api.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": "Ann Lee", "tags": []string{f.tagID, vip.ID}}, 201, &ann)
	pic := func(w int) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, 1))); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	f.api.JSON(t, "PUT", "/api/v1/contacts/"+ann.ID+"/photo", pic(2), 200, nil)
	f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/contacts", map[string]any{"enabled": true, "tag_id": f.tagID}, 200, nil)
	st := f.sync(t)
	if st.LastError != "" {
		t.Fatalf("first run: %+v", st)
	}
	var remote string
	for rn, p := range f.groupMembers(t, st.Collection) {
		if displayName(p) == "Ann Lee" {
			remote = rn
		}
	}
	if remote == "" {
		t.Fatal("Ann not exported")
	}
	check := func(when string, photo []byte) {
		t.Helper()
		var c struct {
			JobTitle string `json:"job_title"`
			Tags     []struct{ ID string }
		}
		f.api.JSON(t, "GET", "/api/v1/contacts/"+ann.ID, nil, 200, &c)
		hasVIP := false
		for _, tg := range c.Tags {
			hasVIP = hasVIP || tg.ID == vip.ID
		}
		r := f.api.Do(t, "GET", "/api/v1/contacts/"+ann.ID+"/photo", nil)
		if !hasVIP || r.Status != http.StatusOK || !bytes.Equal(r.Body, photo) {
			t.Fatalf("%s: tag kept %v, photo %d (same %v)", when, hasVIP, r.Status, bytes.Equal(r.Body, photo))
		}
	}
	// Google edits the contact.
	if err := f.g.UpdateContact(googleUser, remote, map[string]any{"organizations": []any{map[string]any{"title": "CEO"}}},
		"organizations"); err != nil {
		t.Fatal(err)
	}
	if st := f.sync(t); st.LastError != "" {
		t.Fatalf("second run: %+v", st)
	}
	check("after a Google edit", pic(2))
	// Tandem changes the photo: nothing comes back to clear it.
	f.api.JSON(t, "PUT", "/api/v1/contacts/"+ann.ID+"/photo", pic(3), 200, nil)
	f.sync(t)
	if st := f.sync(t); st.LastError != "" || st.LastStats["local_updated"] != float64(0) {
		t.Fatalf("a quiet run: %+v", st)
	}
	check("after a new photo", pic(3))
}
