package ui

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestAssetURL(t *testing.T) {
	for _, name := range []string{"app.css", "app.js", "favicon.svg"} {
		u, err := assetURL(name)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^/static/` + regexp.QuoteMeta(name) + `\?v=[0-9a-f]{12}$`).MatchString(u) {
			t.Errorf("assetURL(%q) = %q", name, u)
		}
	}
}

func TestStaticHandler(t *testing.T) {
	h := StaticHandler()
	get := func(target string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	css := assets["app.css"]

	rec := get("/static/app.css?v="+css.hash, nil)
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Errorf("versioned: %d %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/css; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	if !bytes.Equal(rec.Body.Bytes(), css.body) {
		t.Error("body differs from the embedded file")
	}

	rec = get("/static/app.css?v=stale", nil)
	if rec.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("stale version cached: %q", rec.Header().Get("Cache-Control"))
	}

	rec = get("/static/app.css", map[string]string{"Accept-Encoding": "br, gzip"})
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatal("gzip not served")
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Equal(plain, css.body) {
		t.Error("gzip body differs")
	}
	if rec := get("/static/app.css", map[string]string{"Accept-Encoding": "gzip;q=0"}); rec.Header().Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 ignored")
	}

	etag := get("/static/app.js", nil).Header().Get("ETag")
	if rec := get("/static/app.js", map[string]string{"If-None-Match": etag}); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", rec.Code)
	}

	for _, p := range []string{"/static/nope.css", "/static/", "/static/../render.go"} {
		if rec := get(p, nil); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d", p, rec.Code)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/static/app.css", strings.NewReader(""))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}

// The budgets keep the shell light enough to read and review in one sitting.
func TestStaticBudgets(t *testing.T) {
	for name, max := range map[string]int{"app.css": 900, "app.js": 250} {
		if n := bytes.Count(assets[name].body, []byte("\n")); n > max {
			t.Errorf("%s has %d lines, budget %d", name, n, max)
		}
	}
}
