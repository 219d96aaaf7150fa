package download

import (
	"bytes"
	"net/http"
	"time"
)

// Image is a picture Tandem shows inline (a contact's photo).
type Image struct {
	Type      string // a raster type the store checked (crm.PhotoTypes), never SVG
	Data      []byte
	ETag      string // the content's hash
	UpdatedAt time.Time
}

// ServeImage answers img for an <img> element: its type, nosniff and a
// sandboxing policy (should a browser open it as a page), the ETag and
// Last-Modified that make a repeated request a 304. A request naming the
// version in its query (?v=<etag>, the URL pages link to) may keep it for
// good: that URL never shows other content; any other is revalidated.
func ServeImage(w http.ResponseWriter, r *http.Request, img Image) {
	h := w.Header()
	h.Set("Content-Type", img.Type)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("ETag", `"`+img.ETag+`"`)
	if v := r.URL.Query().Get("v"); v != "" && v == img.ETag {
		h.Set("Cache-Control", "private, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "private, no-cache")
	}
	http.ServeContent(w, r, "", img.UpdatedAt, bytes.NewReader(img.Data))
}
