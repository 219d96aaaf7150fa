package messenger

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tandem-crm/tandem/internal/secret"
)

// pickLifetime bounds how long the pages a login listed may be connected.
const pickLifetime = 30 * time.Minute

// ErrPickExpired: the page list is too old or not this admin's.
var ErrPickExpired = errors.New("the list of pages has expired; sign in with Facebook again")

type pick struct {
	Pages   []Page    `json:"pages"`
	Expires time.Time `json:"expires"`
}

// pickBox seals page lists with a key derived from the app secret: the
// page tokens travel through the admin's browser between listing the
// pages and connecting the picked ones (any web process may take the
// second request), sealed and bound to the admin.
func (a *Adapter) pickBox(ctx context.Context) (*secret.Box, error) {
	p, err := a.app(ctx)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, []byte(p.secret))
	m.Write([]byte("tandem messenger page pick"))
	return secret.New(m.Sum(nil))
}

// SealPages seals the pages Complete listed for userID to pick from.
func (a *Adapter) SealPages(ctx context.Context, pages []Page, userID string) (string, error) {
	box, err := a.pickBox(ctx)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(pick{Pages: pages, Expires: a.svc.Now().Add(pickLifetime)})
	if err != nil {
		return "", fmt.Errorf("encode pages: %w", err)
	}
	return box.Seal(string(b), "messenger-pick:"+userID), nil
}

// OpenPages opens what SealPages sealed for userID (ErrPickExpired when it
// is too old, another admin's, or tampered with).
func (a *Adapter) OpenPages(ctx context.Context, sealed, userID string) ([]Page, error) {
	box, err := a.pickBox(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := box.Open(sealed, "messenger-pick:"+userID)
	if err != nil {
		return nil, ErrPickExpired
	}
	var p pick
	if err := json.Unmarshal([]byte(raw), &p); err != nil || a.svc.Now().After(p.Expires) {
		return nil, ErrPickExpired
	}
	return p.Pages, nil
}
