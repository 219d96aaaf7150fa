package dav

// Photos given as a link (PHOTO;VALUE=uri:https://…), as Nextcloud and
// Synology serve some of theirs: the image is fetched only from the
// origin (scheme, host and port) of the card itself, with the account's
// credentials, which that server already holds. A link anywhere else is
// never fetched: the server's data would make Tandem send requests to
// hosts the user never named (request forgery), and sabre/dav refuses
// such links for the same reason. Nor is a redirect away from the origin
// followed. A link that cannot be fetched leaves the photo not carried,
// as before: never cleared, never rewritten.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

// errPhotoLink is a photo link that is not fetched or gives no image
// Tandem keeps.
var errPhotoLink = errors.New("dav: photo link")

// photoLinker is a Codec whose objects may give a photo as a link
// (VCardCodec): Decoded.PhotoLink names it, and EncodeLinked is Encode
// for an object whose link gives the image linked, so that the link
// stays unless f's photo differs from that image.
type photoLinker interface {
	EncodeLinked(raw []byte, f reconcile.Fields, uid, marker, linked string) ([]byte, error)
}

var _ photoLinker = VCardCodec{}

// Photo fetches the image a photo link in the object at objectHref gives,
// as an EncodePhoto value. Only a link on the object's own origin is
// fetched; the image must be one of crm.PhotoTypes and at most
// crm.MaxPhotoBytes.
func (c *Client) Photo(ctx context.Context, objectHref, link string) (string, error) {
	obj, err := url.Parse(c.resolve(objectHref))
	if err != nil {
		return "", fmt.Errorf("%w: object href: %w", errPhotoLink, err)
	}
	u, err := obj.Parse(strings.TrimSpace(link))
	if err != nil {
		return "", fmt.Errorf("%w: not a url", errPhotoLink)
	}
	for range 4 {
		if !sameOrigin(obj, u) {
			return "", fmt.Errorf("%w: %s is not on the card's server", errPhotoLink, u.Host)
		}
		req, err := http.NewRequestWithContext(context.WithValue(ctx, asideKey{}, true), http.MethodGet, u.String(), nil)
		if err != nil {
			return "", fmt.Errorf("%w: %w", errPhotoLink, err)
		}
		req.Header.Set("Accept", strings.Join(crm.PhotoTypes, ", "))
		resp, err := c.hc.Do(req)
		if err != nil {
			return "", fmt.Errorf("%w: GET %s: %w", errPhotoLink, u.Path, err)
		}
		loc, ok, err := redirected(resp)
		if err != nil {
			return "", fmt.Errorf("%w: GET %s: %w", errPhotoLink, u.Path, err)
		}
		if ok {
			u = loc
			continue
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%w: GET %s: %s", errPhotoLink, u.Path, resp.Status)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, crm.MaxPhotoBytes+1))
		if err != nil {
			return "", fmt.Errorf("%w: GET %s: %w", errPhotoLink, u.Path, err)
		}
		if len(data) > crm.MaxPhotoBytes {
			return "", fmt.Errorf("%w: %s is larger than %d bytes", errPhotoLink, u.Path, crm.MaxPhotoBytes)
		}
		ct := crm.PhotoType(data)
		if ct == "" {
			return "", fmt.Errorf("%w: %s is not an image Tandem keeps", errPhotoLink, u.Path)
		}
		return reconcile.EncodePhoto(ct, data), nil
	}
	return "", fmt.Errorf("%w: too many redirects", errPhotoLink)
}

// sameOrigin reports whether u is on a's origin: scheme, host and port
// (the scheme's default port when none is given).
func sameOrigin(a, u *url.URL) bool {
	port := func(x *url.URL) string {
		if p := x.Port(); p != "" {
			return p
		}
		if strings.EqualFold(x.Scheme, "https") {
			return "443"
		}
		return "80"
	}
	return strings.EqualFold(a.Scheme, u.Scheme) && strings.EqualFold(a.Hostname(), u.Hostname()) && port(a) == port(u)
}
