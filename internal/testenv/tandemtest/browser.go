package tandemtest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Browser is a cookie-keeping HTTP client that uses the UI the way a
// browser does: form posts with the page's CSRF token.
type Browser struct {
	base string
	hc   *http.Client
	CSRF string // the token from the last page's <meta name="csrf-token">
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)">`)

// Page is a fetched page.
type Page struct {
	Status int
	URL    string // final URL after redirects
	Body   string
}

// Browser returns a browser that has signed in as email/password.
func (s *Server) Browser(t testing.TB, email, password string) *Browser {
	t.Helper()
	b := s.NewBrowser(t)
	b.Get(t, "/login")
	p := b.Post(t, "/login", url.Values{"email": {email}, "password": {password}})
	if p.Status != http.StatusOK || strings.Contains(p.URL, "/login") {
		t.Fatalf("sign in as %s: status %d at %s", email, p.Status, p.URL)
	}
	return b
}

// NewBrowser returns a browser that has not signed in.
func (s *Server) NewBrowser(t testing.TB) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{base: s.URL, hc: &http.Client{Jar: jar}}
}

// Get fetches a page and remembers its CSRF token.
func (b *Browser) Get(t testing.TB, path string) Page {
	t.Helper()
	resp, err := b.hc.Get(b.base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return b.read(t, resp)
}

// Post submits a form with the current CSRF token (unless the values carry
// their own csrf_token) and follows the redirect.
func (b *Browser) Post(t testing.TB, path string, form url.Values) Page {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf_token"]; !ok {
		form.Set("csrf_token", b.CSRF)
	}
	resp, err := b.hc.PostForm(b.base+path, form)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return b.read(t, resp)
}

func (b *Browser) read(t testing.TB, resp *http.Response) Page {
	t.Helper()
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if m := csrfMeta.FindSubmatch(raw); m != nil {
		b.CSRF = string(m[1])
	}
	return Page{Status: resp.StatusCode, URL: resp.Request.URL.String(), Body: string(raw)}
}

// Open sends a GET with the browser's cookies and returns the response
// unread, for a stream (Server-Sent Events); its body is closed when the
// test ends. A full URL (another server on the same host, whose cookies
// the browser shares) is taken as it is.
func (b *Browser) Open(t testing.TB, path string) *http.Response {
	t.Helper()
	u := b.base + path
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		u = path
	}
	resp, err := b.hc.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
