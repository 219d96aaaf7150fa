// Package download serves files a user downloads from Tandem (letter
// attachments, raw letters) so that a browser never renders them in
// Tandem's origin, for the API and the UI alike.
package download

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Serve answers data as a download: attachment disposition (RFC 6266
// name), nosniff, and a sandboxing policy should a browser show it
// anyway.
func Serve(w http.ResponseWriter, name, contentType string, data []byte) {
	h := w.Header()
	h.Set("Content-Type", SafeContentType(contentType))
	h.Set("Content-Disposition", Disposition(name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

// Disposition is the Content-Disposition of a file download (RFC 6266):
// an ASCII fallback name for old clients and the exact name in RFC 8187
// encoding.
func Disposition(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	if name == "" {
		name = "attachment"
	}
	fallback := strings.Map(func(r rune) rune {
		if r > 0x7e || r == '"' || r == '\\' || r == '/' {
			return '_'
		}
		return r
	}, name)
	var b strings.Builder
	for _, c := range []byte(name) {
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return `attachment; filename="` + fallback + `"; filename*=UTF-8''` + b.String()
}

// SafeContentType is a download's media type: the attachment's when it
// is well formed, else application/octet-stream.
func SafeContentType(ct string) string {
	if mt, _, err := mime.ParseMediaType(ct); err == nil && strings.Count(mt, "/") == 1 {
		return mt
	}
	return "application/octet-stream"
}
