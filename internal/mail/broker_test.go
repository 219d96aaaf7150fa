package mail

import "testing"

func TestBroker(t *testing.T) {
	b := NewBroker()
	a, stopA := b.Subscribe()
	c, stopC := b.Subscribe()
	b.Publish("m1")
	if got := <-a; got != "m1" {
		t.Errorf("a got %q", got)
	}
	if got := <-c; got != "m1" {
		t.Errorf("c got %q", got)
	}
	// A slow subscriber keeps one notice and does not block the publisher.
	b.Publish("m2")
	b.Publish("m3")
	if got := <-a; got != "m2" {
		t.Errorf("a got %q after two publishes", got)
	}
	select {
	case got := <-a:
		t.Errorf("a got a second notice %q", got)
	default:
	}
	stopA()
	stopC()
	<-c
	b.Publish("m4")
	select {
	case got := <-c:
		t.Errorf("an ended subscription got %q", got)
	default:
	}
	if len(b.subs) != 0 {
		t.Errorf("%d subscriptions left", len(b.subs))
	}
}
