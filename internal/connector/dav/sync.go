package dav

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Item is an object's href (absolute URL) and ETag (as the server sent it,
// quoted).
type Item struct {
	Href, ETag string
}

// SyncResult is what changed in a collection since a sync token.
type SyncResult struct {
	// Token is the cursor for the next call.
	Token string
	// Changed are created or modified objects, Deleted the hrefs removed.
	Changed []Item
	Deleted []string
	// Truncated: the server returned only part of the changes (507 on the
	// collection); call again with Token for the rest. SyncAll does.
	Truncated bool
}

// SyncCollection runs one sync-collection REPORT (RFC 6578) on collection
// from token ("" for everything), asking for at most limit results (0:
// no limit; servers may ignore it). An expired or unknown token fails with
// ErrInvalidSyncToken: the caller must reconcile the whole collection.
func (c *Client) SyncCollection(ctx context.Context, collection, token string, limit int) (*SyncResult, error) {
	var lim string
	if limit > 0 {
		lim = fmt.Sprintf(`<D:limit><D:nresults>%d</D:nresults></D:limit>`, limit)
	}
	body := `<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:">` +
		`<D:sync-token>` + xmlText(token) + `</D:sync-token><D:sync-level>1</D:sync-level>` + lim +
		`<D:prop><D:getetag/></D:prop></D:sync-collection>`
	ms, err := c.xmlRequest(ctx, "REPORT", collection, "", body)
	if err != nil {
		return nil, c.syncError(ctx, collection, token, err)
	}
	res := &SyncResult{Token: ms.SyncToken}
	for _, r := range ms.Responses {
		if len(r.Hrefs) == 0 {
			continue
		}
		href := c.resolve(r.Hrefs[0])
		code := statusCode(r.Status)
		if sameCollection(href, collection) {
			// RFC 6578 §3.6: 507 on the request URI marks a truncated answer.
			if code == http.StatusInsufficientStorage {
				res.Truncated = true
			}
			continue
		}
		if code == http.StatusNotFound {
			res.Deleted = append(res.Deleted, href)
			continue
		}
		if p, ok := r.okProp(); ok {
			if strings.HasSuffix(href, "/") && p.ETag == "" {
				continue // a sub-collection
			}
			res.Changed = append(res.Changed, Item{Href: href, ETag: p.ETag})
		}
	}
	if res.Token == "" {
		return nil, fmt.Errorf("dav: REPORT %s: sync-collection answer without a sync-token", collection)
	}
	return res, nil
}

// syncError types a failed sync-collection. RFC 6578 says 403 (or 409)
// with DAV:valid-sync-token. Xandikos 0.2.8 instead fails with 500 on a
// token it does not know; a 500 on a non-empty token counts as an invalid
// token when the collection otherwise answers and its current token is a
// different one — a server that is down fails that check too.
func (c *Client) syncError(ctx context.Context, collection, token string, err error) error {
	var se *StatusError
	if !errors.As(err, &se) {
		return err
	}
	switch {
	case (se.Code == http.StatusForbidden || se.Code == http.StatusConflict) && strings.Contains(se.Body, "valid-sync-token"):
		return fmt.Errorf("%w: %w", ErrInvalidSyncToken, err)
	case se.Code == http.StatusInternalServerError && token != "":
		st, perr := c.CollectionState(ctx, collection)
		if perr == nil && st.SyncToken != "" && st.SyncToken != token {
			return fmt.Errorf("%w: %w", ErrInvalidSyncToken, err)
		}
	}
	return err
}

// SyncAll follows SyncCollection through truncated answers and merges the
// pages (a later page's word on an href wins).
func (c *Client) SyncAll(ctx context.Context, collection, token string, pageSize int) (*SyncResult, error) {
	out := &SyncResult{}
	state := map[string]int{} // href → index in changed (≥0) or deleted (-1-i)
	var changed []Item
	var deleted []string
	for page := 0; ; page++ {
		if page > 10000 {
			return nil, fmt.Errorf("dav: REPORT %s: the server keeps truncating", collection)
		}
		res, err := c.SyncCollection(ctx, collection, token, pageSize)
		if err != nil {
			return nil, err
		}
		for _, it := range res.Changed {
			if i, ok := state[it.Href]; ok && i >= 0 {
				changed[i] = it
				continue
			}
			state[it.Href] = len(changed)
			changed = append(changed, it)
		}
		for _, h := range res.Deleted {
			if i, ok := state[h]; ok && i >= 0 {
				changed[i].Href = "" // dropped below
			}
			state[h] = -1
			deleted = append(deleted, h)
		}
		out.Token = res.Token
		if !res.Truncated || res.Token == token {
			break
		}
		token = res.Token
	}
	for _, it := range changed {
		if it.Href != "" && state[it.Href] >= 0 {
			out.Changed = append(out.Changed, it)
		}
	}
	seen := map[string]bool{}
	for _, h := range deleted {
		if state[h] == -1 && !seen[h] {
			seen[h] = true
			out.Deleted = append(out.Deleted, h)
		}
	}
	return out, nil
}

// ListETags lists every object of collection with its ETag (PROPFIND
// depth 1): the fallback for servers without sync-collection, compared
// by the caller against the ETags it stored.
func (c *Client) ListETags(ctx context.Context, collection string) ([]Item, error) {
	ms, err := c.propfind(ctx, collection, "1", `<D:resourcetype/><D:getetag/>`)
	if err != nil {
		return nil, err
	}
	var out []Item
	for _, r := range ms.Responses {
		if len(r.Hrefs) == 0 || sameCollection(r.Hrefs[0], collection) {
			continue
		}
		p, ok := r.okProp()
		if !ok || p.hasType(nsDAV, "collection") {
			continue
		}
		out = append(out, Item{Href: c.resolve(r.Hrefs[0]), ETag: p.ETag})
	}
	return out, nil
}
