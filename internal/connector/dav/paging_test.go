package dav

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestSyncAllPaging: neither Radicale nor Xandikos truncates, so a small
// server plays one that does (RFC 6578 §3.6: 507 on the collection), with
// an item changed on page 1 and deleted on page 2.
func TestSyncAllPaging(t *testing.T) {
	pages := map[string]string{
		"": `<response><href>/c/a.vcf</href><propstat><prop><getetag>"a1"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response>` +
			`<response><href>/c/b.vcf</href><propstat><prop><getetag>"b1"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response>` +
			`<response><href>/c/</href><status>HTTP/1.1 507 Insufficient Storage</status></response><sync-token>t1</sync-token>`,
		"t1": `<response><href>/c/b.vcf</href><status>HTTP/1.1 404 Not Found</status></response>` +
			`<response><href>/c/d.vcf</href><propstat><prop><getetag>"d1"</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response>` +
			`<sync-token>t2</sync-token>`,
	}
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s := string(b)
		tok := s[strings.Index(s, "<D:sync-token>")+len("<D:sync-token>") : strings.Index(s, "</D:sync-token>")]
		asked = append(asked, tok)
		body, ok := pages[tok]
		if !ok {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<error xmlns="DAV:"><valid-sync-token/></error>`)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusMultiStatus)
		fmt.Fprint(w, `<multistatus xmlns="DAV:">`+body+`</multistatus>`)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, "u", "p")
	res, err := c.SyncAll(context.Background(), srv.URL+"/c/", "", 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := hrefs(res.Changed); !slices.Equal(got, []string{"/c/a.vcf", "/c/d.vcf"}) {
		t.Errorf("changed %v", got)
	}
	if got := paths(res.Deleted); !slices.Equal(got, []string{"/c/b.vcf"}) {
		t.Errorf("deleted %v", got)
	}
	if res.Token != "t2" || !slices.Equal(asked, []string{"", "t1"}) {
		t.Errorf("token %q after asking %q", res.Token, asked)
	}
	if _, err := c.SyncAll(context.Background(), srv.URL+"/c/", "old", 0); !errors.Is(err, ErrInvalidSyncToken) {
		t.Errorf("old token: %v", err)
	}
}
