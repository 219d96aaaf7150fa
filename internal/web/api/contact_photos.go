package api

import (
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/web/download"
)

// photoJSON describes a contact's photo; its bytes are at URL.
type photoJSON struct {
	ContentType string    `json:"content_type"`
	ETag        string    `json:"etag"`
	UpdatedAt   time.Time `json:"updated_at"`
	URL         string    `json:"url"`
}

func photoOut(contactID string, p *crm.Photo) *photoJSON {
	if p == nil {
		return nil
	}
	return &photoJSON{ContentType: p.Type, ETag: p.ETag, UpdatedAt: p.UpdatedAt,
		URL: "/api/v1/contacts/" + contactID + "/photo"}
}

// getContactPhoto answers the photo's bytes, for a caller who may read
// the contact; 404 when it has none.
func (a *API) getContactPhoto(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	p, err := a.st.ContactPhoto(r.Context(), v, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	download.ServeImage(w, r, download.Image{Type: p.Type, Data: p.Data, ETag: p.ETag, UpdatedAt: p.UpdatedAt})
}

// putContactPhoto replaces the photo with the request body, the image's
// bytes as they are (its type is sniffed, whatever Content-Type says),
// and answers the contact as PATCH does.
func (a *API) putContactPhoto(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	want, err := ifMatch(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, crm.MaxPhotoBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		a.problem(w, r, http.StatusRequestEntityTooLarge, "error.form", crm.FieldErrors{"photo": crm.ErrPhotoTooLarge})
		return
	case err != nil:
		a.problem(w, r, http.StatusBadRequest, "error.form", crm.FieldErrors{"photo": "error.invalid"})
		return
	}
	id := r.PathValue("id")
	if _, err := a.st.SetContactPhoto(r.Context(), v, id, data, want); err != nil {
		a.fail(w, r, err)
		return
	}
	a.contacts().respond(a, w, r, v, id, http.StatusOK)
}

// deleteContactPhoto removes the photo; a contact without one is left as
// it is.
func (a *API) deleteContactPhoto(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	want, err := ifMatch(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.st.DeleteContactPhoto(r.Context(), v, r.PathValue("id"), want); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
