package dav

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Object is a stored vCard or iCalendar object, byte for byte as the
// server sent it.
type Object struct {
	Href, ETag string
	Data       []byte
}

// MultiGetBatch is how many hrefs one multiget REPORT asks for: large
// enough to keep round trips few, small enough for servers' request
// limits.
const MultiGetBatch = 100

// Content types of the objects.
const (
	VCardType     = "text/vcard; charset=utf-8"
	ICalendarType = "text/calendar; charset=utf-8"
)

// MultiGet fetches hrefs of collection (an address book or a calendar, by
// kind) with addressbook-multiget / calendar-multiget in batches. Hrefs
// the server no longer has come back in missing.
func (c *Client) MultiGet(ctx context.Context, kind Kind, collection string, hrefs []string) (objs []Object, missing []string, err error) {
	for start := 0; start < len(hrefs); start += MultiGetBatch {
		batch := hrefs[start:min(start+MultiGetBatch, len(hrefs))]
		var b strings.Builder
		switch kind {
		case AddressBook:
			b.WriteString(`<?xml version="1.0" encoding="utf-8"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">` +
				`<D:prop><D:getetag/><C:address-data/></D:prop>`)
		case Calendar:
			b.WriteString(`<?xml version="1.0" encoding="utf-8"?><C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">` +
				`<D:prop><D:getetag/><C:calendar-data/></D:prop>`)
		default:
			return nil, nil, fmt.Errorf("dav: multiget of unknown kind %q", kind)
		}
		want := map[string]string{} // path → href as asked
		for _, h := range batch {
			want[hrefPath(c.resolve(h))] = h
			b.WriteString(`<D:href>` + xmlText(hrefPath(c.resolve(h))) + `</D:href>`)
		}
		if kind == AddressBook {
			b.WriteString(`</C:addressbook-multiget>`)
		} else {
			b.WriteString(`</C:calendar-multiget>`)
		}
		ms, err := c.xmlRequest(ctx, "REPORT", collection, "1", b.String())
		if err != nil {
			return nil, nil, err
		}
		for _, r := range ms.Responses {
			if len(r.Hrefs) == 0 {
				continue
			}
			p, ok := r.okProp()
			data := p.AddressData
			if kind == Calendar {
				data = p.CalendarData
			}
			if !ok || data == "" {
				continue // a 404: counted as missing below
			}
			href := c.resolve(r.Hrefs[0])
			objs = append(objs, Object{Href: href, ETag: p.ETag, Data: crlf(data)})
			delete(want, hrefPath(href))
		}
		for _, h := range batch {
			if _, left := want[hrefPath(c.resolve(h))]; left {
				missing = append(missing, c.resolve(h))
			}
		}
	}
	return objs, missing, nil
}

// QueryUID lists the objects of a calendar whose component comp (VEVENT,
// VTODO) has a UID containing uid (calendar-query, RFC 4791 §7.8, with an
// octet text-match: a substring match, so the caller compares the UID).
func (c *Client) QueryUID(ctx context.Context, calendar, comp, uid string) ([]Object, error) {
	body := `<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">` +
		`<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR">` +
		`<C:comp-filter name="` + xmlText(comp) + `"><C:prop-filter name="UID"><C:text-match collation="i;octet">` +
		xmlText(uid) + `</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`
	ms, err := c.xmlRequest(ctx, "REPORT", calendar, "1", body)
	if err != nil {
		return nil, err
	}
	var out []Object
	for _, r := range ms.Responses {
		if len(r.Hrefs) == 0 {
			continue
		}
		if p, ok := r.okProp(); ok && p.CalendarData != "" {
			out = append(out, Object{Href: c.resolve(r.Hrefs[0]), ETag: p.ETag, Data: crlf(p.CalendarData)})
		}
	}
	return out, nil
}

// crlf restores the CRLF line ends vCard and iCalendar require: XML
// parsing turns every CRLF inside address-data / calendar-data into LF
// (XML 1.0 §2.11), so a multiget body differs from a GET's otherwise.
func crlf(s string) []byte {
	if !strings.Contains(s, "\n") {
		return []byte(s)
	}
	var b strings.Builder
	b.Grow(len(s) + strings.Count(s, "\n"))
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' && (i == 0 || s[i-1] != '\r') {
			b.WriteByte('\r')
		}
		b.WriteByte(s[i])
	}
	return []byte(b.String())
}

// Get fetches one object.
func (c *Client) Get(ctx context.Context, href string) (*Object, error) {
	u := c.resolve(href)
	resp, err := c.do(ctx, http.MethodGet, u, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("dav: GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(http.MethodGet, u, resp)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("dav: GET %s: %w", u, err)
	}
	return &Object{Href: u, ETag: resp.Header.Get("ETag"), Data: data}, nil
}

// Create stores a new object at href with If-None-Match: *, so it never
// overwrites one that exists (ErrPrecondition then). It returns the ETag.
func (c *Client) Create(ctx context.Context, href, contentType string, data []byte) (string, error) {
	return c.put(withIfNoneMatch(ctx), href, contentType, data)
}

// Update replaces the object at href only if its ETag is still etag
// (If-Match); otherwise it fails with ErrPrecondition and the caller
// re-reads and merges. It returns the new ETag.
func (c *Client) Update(ctx context.Context, href, etag, contentType string, data []byte) (string, error) {
	if etag == "" {
		return "", fmt.Errorf("dav: update of %s without an etag", href)
	}
	return c.put(withIfMatch(ctx, etag), href, contentType, data)
}

func (c *Client) put(ctx context.Context, href, contentType string, data []byte) (string, error) {
	u := c.resolve(href)
	resp, err := c.do(ctx, http.MethodPut, u, http.Header{"Content-Type": {contentType}}, data)
	if err != nil {
		return "", fmt.Errorf("dav: PUT %s: %w", u, err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return "", statusError(http.MethodPut, u, resp)
	}
	if etag := resp.Header.Get("ETag"); etag != "" {
		return etag, nil
	}
	// RFC 4791 §5.3.4: a server that changed the object on the way in
	// sends no ETag; read the one it keeps.
	ms, err := c.propfind(context.WithoutCancel(ctx), u, "0", `<D:getetag/>`)
	if err != nil {
		return "", fmt.Errorf("dav: etag of %s after PUT: %w", u, err)
	}
	for _, r := range ms.Responses {
		if p, ok := r.okProp(); ok && p.ETag != "" {
			return p.ETag, nil
		}
	}
	return "", fmt.Errorf("dav: no etag for %s after PUT", u)
}

// Delete removes the object at href if its ETag is still etag
// (ErrPrecondition otherwise; "" deletes unconditionally). An object
// already gone is not an error.
func (c *Client) Delete(ctx context.Context, href, etag string) error {
	if etag != "" {
		ctx = withIfMatch(ctx, etag)
	}
	u := c.resolve(href)
	resp, err := c.do(ctx, http.MethodDelete, u, nil, nil)
	if err != nil {
		return fmt.Errorf("dav: DELETE %s: %w", u, err)
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusOK, http.StatusNoContent, http.StatusAccepted, http.StatusNotFound:
		return nil
	}
	return statusError(http.MethodDelete, u, resp)
}

func statusError(method, u string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	return &StatusError{Method: method, URL: u, Code: resp.StatusCode, Body: strings.TrimSpace(string(b))}
}
