package api_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"strconv"
	"testing"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

func pngBytes(t *testing.T, w int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, 1))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type photoOut struct {
	ContentType string `json:"content_type"`
	ETag        string `json:"etag"`
	URL         string `json:"url"`
}

// TestContactPhotoAPI: PUT, GET (with its ETag, a 304 and caching) and
// DELETE of a contact's photo, the contact's access on each, and bad
// files answered with the API's problem body.
func TestContactPhotoAPI(t *testing.T) {
	eachDB(t, func(t *testing.T, s *tandemtest.Server) {
		readers := s.NewRole(t, "Readers")
		alice := s.NewUser(t, "alice@example.com")
		bob := s.NewUser(t, "bob@example.com", readers)
		carol := s.NewUser(t, "carol@example.com")
		var c struct {
			ID      string    `json:"id"`
			Version int64     `json:"version"`
			Photo   *photoOut `json:"photo"`
		}
		alice.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": "Pat",
			"access": []any{map[string]string{"role_id": readers, "level": "read"}}}, 201, &c)
		if c.Photo != nil {
			t.Fatalf("a new contact has a photo: %+v", c.Photo)
		}
		path := "/api/v1/contacts/" + c.ID + "/photo"
		if r := alice.Do(t, "GET", path, nil); r.Status != http.StatusNotFound {
			t.Fatalf("no photo: %d", r.Status)
		}

		img := pngBytes(t, 5)
		r := alice.Do(t, "PUT", path, img, "Content-Type", "application/octet-stream", "If-Match", strconv.Quote(strconv.FormatInt(c.Version, 10)))
		if r.Status != http.StatusOK {
			t.Fatalf("put: %d %s", r.Status, r.Body)
		}
		var after struct {
			Version int64     `json:"version"`
			Photo   *photoOut `json:"photo"`
		}
		if err := json.Unmarshal(r.Body, &after); err != nil {
			t.Fatal(err)
		}
		if after.Version != c.Version+1 || after.Photo == nil || after.Photo.ContentType != "image/png" ||
			after.Photo.ETag != crm.PhotoETag(img) || after.Photo.URL != path {
			t.Fatalf("after put: %+v %+v", after, after.Photo)
		}
		if r.Header.Get("ETag") != strconv.Quote(strconv.FormatInt(after.Version, 10)) {
			t.Errorf("contact ETag %q", r.Header.Get("ETag"))
		}

		got := bob.Do(t, "GET", path, nil)
		if got.Status != 200 || !bytes.Equal(got.Body, img) || got.Header.Get("Content-Type") != "image/png" ||
			got.Header.Get("ETag") != `"`+crm.PhotoETag(img)+`"` || got.Header.Get("Cache-Control") != "private, no-cache" ||
			got.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("bob (read) gets %d %v", got.Status, got.Header)
		}
		if again := bob.Do(t, "GET", path, nil, "If-None-Match", got.Header.Get("ETag")); again.Status != http.StatusNotModified {
			t.Errorf("revalidation: %d", again.Status)
		}
		if v := bob.Do(t, "GET", path+"?v="+crm.PhotoETag(img), nil); v.Header.Get("Cache-Control") != "private, max-age=31536000, immutable" {
			t.Errorf("versioned URL cached as %q", v.Header.Get("Cache-Control"))
		}
		if r := carol.Do(t, "GET", path, nil); r.Status != http.StatusNotFound {
			t.Errorf("carol (no access) gets %d", r.Status)
		}
		decodeProblem(t, bob.Do(t, "PUT", path, pngBytes(t, 6), "Content-Type", "image/png"))
		if r := bob.Do(t, "PUT", path, pngBytes(t, 6), "Content-Type", "image/png"); r.Status != http.StatusForbidden {
			t.Errorf("bob (read) puts: %d", r.Status)
		}
		if r := bob.Do(t, "DELETE", path, nil); r.Status != http.StatusForbidden {
			t.Errorf("bob (read) deletes: %d", r.Status)
		}
		if r := alice.Do(t, "PUT", path, pngBytes(t, 6), "Content-Type", "image/png", "If-Match", `"1"`); r.Status != http.StatusPreconditionFailed {
			t.Errorf("a stale If-Match: %d", r.Status)
		}

		// Bad files: the API's problem body, naming the field.
		for _, tc := range []struct {
			body   []byte
			status int
			code   string
		}{
			{[]byte("%PDF-1.7 not an image"), 400, "photo_type"},
			{[]byte("<svg xmlns='http://www.w3.org/2000/svg'/>"), 400, "photo_type"},
			{nil, 400, "photo_empty"},
			{append(pngBytes(t, 1), make([]byte, crm.MaxPhotoBytes)...), 413, "photo_too_large"},
		} {
			r := alice.Do(t, "PUT", path, tc.body, "Content-Type", "image/png")
			if r.Status != tc.status {
				t.Errorf("%.12q: %d, want %d: %s", tc.body, r.Status, tc.status, r.Body)
				continue
			}
			if p := decodeProblem(t, r); p.fields()["photo"] != tc.code {
				t.Errorf("%.12q: problem %+v", tc.body, p)
			}
		}
		if still := alice.Do(t, "GET", path, nil); !bytes.Equal(still.Body, img) {
			t.Error("a refused file replaced the photo")
		}

		if r := alice.Do(t, "DELETE", path, nil); r.Status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
		if r := alice.Do(t, "GET", path, nil); r.Status != http.StatusNotFound {
			t.Errorf("after delete: %d", r.Status)
		}
		alice.JSON(t, "GET", "/api/v1/contacts/"+c.ID, nil, 200, &after)
		if after.Photo != nil {
			t.Errorf("the contact still shows a photo: %+v", after.Photo)
		}
		if r := alice.Do(t, "DELETE", path, nil); r.Status != http.StatusNoContent {
			t.Errorf("delete of no photo: %d", r.Status)
		}
	})
}
