package ui

import (
	"net/url"
	"testing"
	"time"
)

func TestFormStash(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	s := newFormStash()
	s.now = func() time.Time { return now }
	form := func(user string) stashedForm {
		return stashedForm{UserID: user, Path: "/contacts", Values: url.Values{"name": {"x"}}}
	}

	tok := s.put(form("ann"))
	if _, ok := s.take(tok, "bob"); ok {
		t.Error("a form of ann's offered to bob")
	}
	if _, ok := s.take(tok, "ann"); ok {
		t.Error("a form offered to the wrong user stays offered")
	}

	tok = s.put(form("")) // posted without a session: whoever signs in
	if f, ok := s.take(tok, "ann"); !ok || f.Values.Get("name") != "x" {
		t.Errorf("take: %+v %v", f, ok)
	}
	if _, ok := s.take(tok, "ann"); ok {
		t.Error("a form taken twice")
	}

	tok = s.put(form("ann"))
	now = now.Add(resumeTTL + time.Second)
	if _, ok := s.take(tok, "ann"); ok {
		t.Error("an expired form offered")
	}

	// Full: the oldest goes first.
	first := s.put(form("ann"))
	for i := 1; i < resumeMax; i++ {
		now = now.Add(time.Millisecond)
		s.put(form("ann"))
	}
	now = now.Add(time.Millisecond)
	last := s.put(form("ann"))
	if len(s.forms) != resumeMax {
		t.Errorf("%d forms kept, max %d", len(s.forms), resumeMax)
	}
	if _, ok := s.take(first, "ann"); ok {
		t.Error("the oldest form survived a full stash")
	}
	if _, ok := s.take(last, "ann"); !ok {
		t.Error("the newest form was dropped")
	}
}

func TestKeptField(t *testing.T) {
	for name, want := range map[string]bool{"given_name": true, "notes": true, "csrf_token": false, "new_password": false,
		"GoogleClientSecret": false, "emails[0].address": true} {
		if got := keptField(name); got != want {
			t.Errorf("keptField(%q) = %v", name, got)
		}
	}
}
