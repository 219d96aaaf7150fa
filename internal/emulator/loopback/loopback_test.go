package loopback

import (
	"errors"
	"io"
	"net/http"
	"testing"
)

func TestListener(t *testing.T) {
	var l Listener
	if err := l.Shutdown(); err != nil {
		t.Fatalf("shutdown before serving: %v", err)
	}
	base, err := l.Serve("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	if err != nil {
		t.Fatal(err)
	}
	if l.URL() != base {
		t.Fatalf("URL %q, Serve said %q", l.URL(), base)
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Fatalf("served %q", body)
	}
	if _, err := l.Serve("127.0.0.1:0", http.NotFoundHandler()); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Serve: %v", err)
	}
	if err := l.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(base + "/"); err == nil {
		t.Fatal("still serving after Shutdown")
	}
}
