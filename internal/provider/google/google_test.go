package google

import (
	"testing"

	"github.com/tandem-crm/tandem/internal/provider"
)

func TestPushStateOf(t *testing.T) {
	for _, c := range []struct {
		push, site string
		want       provider.PushState
	}{
		{"", "", provider.PushState{Off: provider.PushNoAddress}},
		{"", "http://crm.example.com", provider.PushState{Off: provider.PushNotHTTPS, Address: "http://crm.example.com"}},
		{"", "https://crm.example.com/", provider.PushState{On: true, Address: "https://crm.example.com"}},
		{"", "HTTPS://crm.example.com/tandem", provider.PushState{On: true, Address: "HTTPS://crm.example.com/tandem"}},
		{"https://hooks.example.com", "http://crm.example.com", provider.PushState{On: true, Address: "https://hooks.example.com"}},
		{"http://hooks.example.com", "https://crm.example.com", provider.PushState{Off: provider.PushNotHTTPS, Address: "http://hooks.example.com"}},
		{"", "https://", provider.PushState{Off: provider.PushNotHTTPS, Address: "https:"}},
		{"", "crm.example.com", provider.PushState{Off: provider.PushNotHTTPS, Address: "crm.example.com"}},
	} {
		if got := PushStateOf(c.push, c.site); got != c.want {
			t.Errorf("PushStateOf(%q, %q) = %+v, want %+v", c.push, c.site, got, c.want)
		}
	}
}
