package provider_test

import (
	"errors"
	"testing"

	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/provider/providertest"
)

func TestRegistry(t *testing.T) {
	a, b := providertest.New("a"), providertest.New("b")
	r := provider.NewRegistry(a)
	if err := r.Register(b); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(providertest.New("a")); err == nil {
		t.Error("a second provider named a was registered")
	}
	if p, err := r.Get("b"); err != nil || p != b {
		t.Errorf("Get(b) = %v, %v", p, err)
	}
	if _, err := r.Get("c"); !errors.Is(err, provider.ErrUnknownProvider) {
		t.Errorf("Get(c) = %v, want ErrUnknownProvider", err)
	}
	if all := r.All(); len(all) != 2 || all[0] != a || all[1] != b {
		t.Errorf("All() = %v, want [a b] in registration order", all)
	}
	var none *provider.Registry
	if _, err := none.Get("a"); !errors.Is(err, provider.ErrUnknownProvider) || none.All() != nil {
		t.Error("a nil registry knows a provider")
	}
}

func TestParseKind(t *testing.T) {
	for _, c := range []struct {
		in   string
		want provider.Kind
		ok   bool
	}{{"contact", provider.Contact, true}, {"event", provider.Event, true}, {"task", provider.Task, true},
		{"mail", "", false}, {"", "", false},
		{"Contact", "", false}} {
		k, err := provider.ParseKind(c.in)
		if k != c.want || (err == nil) != c.ok || (err != nil && !errors.Is(err, provider.ErrUnknownKind)) {
			t.Errorf("ParseKind(%q) = %q, %v", c.in, k, err)
		}
	}
}

func TestInfo(t *testing.T) {
	p := providertest.New("fake")
	if k, ok := provider.Info(p, provider.Event); !ok || k.Collection != provider.CollectionPicked {
		t.Errorf("Info(event) = %+v, %v", k, ok)
	}
	if k, ok := provider.Info(p, provider.Task); !ok || k.Collection != provider.CollectionPicked {
		t.Errorf("Info(task) = %+v, %v", k, ok)
	}
	if _, ok := provider.Info(p, provider.Contact); ok {
		t.Error("the fake offers contacts")
	}
}

func TestOffError(t *testing.T) {
	var err error = &provider.OffError{Provider: "p", Kind: provider.Event, Key: "k", Reason: "calendar sync with P is off"}
	if !errors.Is(err, provider.ErrKindOff) || err.Error() != "sync: calendar sync with P is off" {
		t.Errorf("%v", err)
	}
}
