// Package messenger is the Facebook Messenger channel of omnichannel chat
// (SPEC §5, apis.md §7): a Facebook page, connected through Facebook
// Login, whose conversations become Tandem chats. It owns the Graph API
// calls a page channel makes (the login code exchange, /me/accounts, the
// app's and the page's webhook subscriptions, the Send API, the handover
// protocol) and the one webhook every page of the app posts to,
// /hooks/messenger, checked by its X-Hub-Signature-256 before the body is
// parsed.
package messenger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// GraphError is a Graph API refusal: {"error":{"message","code",…}}.
type GraphError struct {
	Status    int
	Message   string
	Type      string
	Code      int
	Subcode   int
	Transient bool
}

func (e *GraphError) Error() string {
	if e.Subcode != 0 {
		return fmt.Sprintf("graph: %d/%d %s", e.Code, e.Subcode, e.Message)
	}
	return fmt.Sprintf("graph: %d %s", e.Code, e.Message)
}

// graph calls one Graph host at one version.
type graph struct {
	base    string // e.g. https://graph.facebook.com
	version string // e.g. v21.0
	http    *http.Client
}

// do calls method path (without the version) with the token in the query
// (Graph takes it there for every call) and body as JSON (nil: none), and
// decodes the answer into out.
func (g *graph) do(ctx context.Context, method, path, token string, query url.Values, body, out any) error {
	if query == nil {
		query = url.Values{}
	}
	if token != "" {
		query.Set("access_token", token)
	}
	u := g.base + "/" + g.version + "/" + strings.TrimPrefix(path, "/") + "?" + query.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode %s: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.http.Do(req)
	if err != nil {
		// The URL holds the token: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s: read answer: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		var env struct {
			Error struct {
				Message   string `json:"message"`
				Type      string `json:"type"`
				Code      int    `json:"code"`
				Subcode   int    `json:"error_subcode"`
				Transient bool   `json:"is_transient"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &env) != nil || env.Error.Code == 0 && env.Error.Message == "" {
			return &GraphError{Status: resp.StatusCode, Code: -1, Message: "not a Graph answer: " + http.StatusText(resp.StatusCode),
				Transient: resp.StatusCode >= 500}
		}
		e := env.Error
		return &GraphError{Status: resp.StatusCode, Message: e.Message, Type: e.Type, Code: e.Code, Subcode: e.Subcode,
			Transient: e.Transient || resp.StatusCode >= 500}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s: decode answer: %w", path, err)
		}
	}
	return nil
}
