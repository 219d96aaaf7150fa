package ui_test

import (
	"bytes"
	"image"
	"image/png"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

func pngOf(t *testing.T, w int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, 1))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var keptPhoto = regexp.MustCompile(`name="photo_kept" value="([^"]+)"`)

// TestContactPhotoForm: the edit form uploads a photo, which the card
// shows and /contacts/{id}/photo serves with its ETag; a file that is no
// photo is refused with a readable message and what was typed kept; a
// good photo survives a submit that fails on another field; the form
// removes it.
func TestContactPhotoForm(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	u := newUploader(t, s, tandemtest.AdminEmail, tandemtest.AdminPassword)
	var c struct {
		ID      string `json:"id"`
		Version int64  `json:"version"`
	}
	s.Admin.JSON(t, "POST", "/api/v1/contacts", map[string]any{"given_name": "Pat", "family_name": "Doe"}, 201, &c)
	status, body, _ := u.get(t, "/contacts/"+c.ID+"/edit")
	if status != 200 || !strings.Contains(body, `enctype="multipart/form-data"`) || !strings.Contains(body, `type="file" id="f-photo" name="photo"`) {
		t.Fatalf("edit form %d lacks the photo input", status)
	}
	fields := func(version int64, extra ...string) map[string]string {
		m := map[string]string{"given_name": "Pat", "family_name": "Doe", "owner_id": s.Admin.UserID,
			"version": strconv.FormatInt(version, 10)}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	version := func() int64 {
		var x struct{ Version int64 }
		s.Admin.JSON(t, "GET", "/api/v1/contacts/"+c.ID, nil, 200, &x)
		return x.Version
	}

	// A good photo.
	img := pngOf(t, 4)
	status, body = u.upload(t, "/contacts/"+c.ID, fields(c.Version), "photo", "me.png", "image/png", img)
	src := `src="/contacts/` + c.ID + `/photo?v=` + crm.PhotoETag(img) + `"`
	if status != 200 || !strings.Contains(body, `<img class="avatar avatar-lg" `+src) {
		t.Fatalf("card after the upload: %d\n%s", status, excerpt(body))
	}
	resp, err := u.hc.Get(s.URL + "/contacts/" + c.ID + "/photo?v=" + crm.PhotoETag(img))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, img) || resp.Header.Get("Content-Type") != "image/png" ||
		resp.Header.Get("ETag") != `"`+crm.PhotoETag(img)+`"` || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("photo: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ := http.NewRequest("GET", s.URL+"/contacts/"+c.ID+"/photo", nil)
	req.Header.Set("If-None-Match", `"`+crm.PhotoETag(img)+`"`)
	if resp, err := u.hc.Do(req); err != nil || resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// A file that is no photo: a message, the typed input kept, the
	// photo as it was.
	status, body = u.upload(t, "/contacts/"+c.ID, fields(version(), "job_title", "Typed title"), "photo", "cv.pdf",
		"application/pdf", []byte("%PDF-1.7 a document"))
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "This file is not a JPEG, PNG, GIF or WebP image.") ||
		!strings.Contains(body, `id="f-photo-error"`) || !strings.Contains(body, `value="Typed title"`) || keptPhoto.MatchString(body) {
		t.Fatalf("a bad file: %d\n%s", status, excerpt(body))
	}
	status, body = u.upload(t, "/contacts/"+c.ID, fields(version()), "photo", "huge.png", "image/png",
		append(pngOf(t, 1), make([]byte, crm.MaxPhotoBytes)...))
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "The photo is larger than 2 MB.") {
		t.Fatalf("a large file: %d\n%s", status, excerpt(body))
	}
	if _, body, _ := u.get(t, "/contacts/"+c.ID); !strings.Contains(body, src) || strings.Contains(body, "Typed title") {
		t.Error("a refused submit changed the contact")
	}

	// A good photo with a bad email: the photo rides along in the form
	// and is saved with the fix.
	img2 := pngOf(t, 9)
	status, body = u.upload(t, "/contacts/"+c.ID, fields(version(), "emails[0].address", "not-an-email", "emails[0].kind", "work"),
		"photo", "new.png", "image/png", img2)
	m := keptPhoto.FindStringSubmatch(body)
	if status != http.StatusUnprocessableEntity || m == nil || !strings.Contains(body, "The new photo is saved with the contact.") {
		t.Fatalf("a good photo, a bad email: %d\n%s", status, excerpt(body))
	}
	status, body = u.upload(t, "/contacts/"+c.ID, fields(version(), "emails[0].address", "pat@example.com", "emails[0].kind", "work",
		"photo_kept", m[1]), "", "", "", nil)
	if status != 200 || !strings.Contains(body, `/photo?v=`+crm.PhotoETag(img2)+`"`) {
		t.Fatalf("the kept photo not saved: %d\n%s", status, excerpt(body))
	}

	// Removed.
	status, body = u.upload(t, "/contacts/"+c.ID, fields(version(), "photo_remove", "1"), "", "", "", nil)
	if status != 200 || strings.Contains(body, "data-contact-photo") || !strings.Contains(body, `<span class="avatar avatar-lg" aria-hidden="true">PD</span>`) {
		t.Fatalf("after removing: %d\n%s", status, excerpt(body))
	}
	if status, _, _ := u.get(t, "/contacts/"+c.ID+"/photo"); status != http.StatusNotFound {
		t.Errorf("the photo after removing: %d", status)
	}

	// Someone who may not read the contact does not see its photo.
	s.Admin.JSON(t, "PUT", "/api/v1/contacts/"+c.ID+"/photo", img, 200, nil)
	s.NewUser(t, "other@example.com")
	other := newUploader(t, s, "other@example.com", "user-password-1")
	if status, _, _ := other.get(t, "/contacts/"+c.ID+"/photo"); status != http.StatusNotFound {
		t.Errorf("another user gets the photo: %d", status)
	}
}

func excerpt(body string) string {
	if i := strings.Index(body, "<main"); i >= 0 {
		body = body[i:]
	}
	return body[:min(len(body), 3000)]
}
