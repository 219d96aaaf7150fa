package wire

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/emersion/go-sasl"
)

// XOAuth2 is the SASL mechanism name.
const XOAuth2 = "XOAUTH2"

// NewXOAuth2Client returns a SASL client that logs username in with an
// OAuth access token. On a refused token the server sends a JSON challenge;
// the client answers it with an empty response, as the mechanism requires,
// so the server can finish with NO (IMAP) or 535 (SMTP). The challenge is
// kept: Failure returns it.
func NewXOAuth2Client(username, token string) *XOAuth2Client {
	return &XOAuth2Client{username: username, token: token}
}

// XOAuth2Client is the SASL XOAUTH2 client of Google and Microsoft
// (apis.md §3.3); go-sasl has none.
type XOAuth2Client struct {
	username, token string
	failure         *XOAuth2Failure
}

var _ sasl.Client = (*XOAuth2Client)(nil)

// Start sends user=…^Aauth=Bearer …^A^A as the initial response.
func (x *XOAuth2Client) Start() (string, []byte, error) {
	return XOAuth2, []byte("user=" + x.username + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

// Next answers the server's error challenge with an empty response.
func (x *XOAuth2Client) Next(challenge []byte) ([]byte, error) {
	if x.failure != nil {
		// A second challenge is a broken server; stop rather than loop.
		return nil, errors.New("xoauth2: unexpected second challenge")
	}
	f := &XOAuth2Failure{Raw: string(challenge)}
	_ = json.Unmarshal(challenge, f) // a non-JSON challenge keeps Raw only
	x.failure = f
	return []byte{}, nil
}

// Failure is the server's error challenge, or nil when there was none.
func (x *XOAuth2Client) Failure() *XOAuth2Failure { return x.failure }

// XOAuth2Failure is the JSON a server sends when it refuses a token, e.g.
// {"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}.
type XOAuth2Failure struct {
	Status  string `json:"status"`
	Schemes string `json:"schemes"`
	Scope   string `json:"scope"`
	Raw     string `json:"-"`
}

func (f *XOAuth2Failure) String() string {
	if f.Status == "" {
		return fmt.Sprintf("token refused (%q)", f.Raw)
	}
	return "token refused (status " + f.Status + ")"
}
