package signin

import (
	"strings"
	"testing"
	"time"
)

func TestPolicyWait(t *testing.T) {
	p := Policy{Free: 5, First: time.Minute, Max: 15 * time.Minute, Forget: time.Hour}
	for failures, want := range map[int]time.Duration{
		0: 0, 4: 0,
		5: time.Minute, 6: 2 * time.Minute, 7: 4 * time.Minute, 8: 8 * time.Minute,
		9: 15 * time.Minute, 10: 15 * time.Minute, 1000: 15 * time.Minute, // capped, never overflowing
	} {
		if got := p.Wait(failures); got != want {
			t.Errorf("Wait(%d) = %s, want %s", failures, got, want)
		}
	}
	// One address cannot hold an account shut: blocked, it gets one guess
	// per address wait, which blocks the account for less than that.
	if AccountPolicy.Max >= AddressPolicy.Max || AccountPolicy.Free <= AddressPolicy.Free {
		t.Errorf("account policy %+v is not looser than address policy %+v", AccountPolicy, AddressPolicy)
	}
	for _, p := range []Policy{AddressPolicy, AccountPolicy} {
		if p.Forget <= p.Max {
			t.Errorf("%+v forgets a key while it may still be blocked", p)
		}
	}
}

func TestAddressKey(t *testing.T) {
	for addr, want := range map[string]string{
		"203.0.113.7":                  "203.0.113.7",
		"::ffff:203.0.113.7":           "203.0.113.7", // IPv4 mapped into IPv6 is the IPv4 address
		"2001:db8:1:2:3:4:5:6":         "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1":         "2001:db8:1:2::/64",
		"fe80::1%eth0":                 "fe80::/64",
		"not an address (a test pipe)": "not an address (a test pipe)",
	} {
		if got := addressKey(addr); got != want {
			t.Errorf("addressKey(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestThrottledErrorSeconds(t *testing.T) {
	for wait, want := range map[time.Duration]int{
		time.Minute: 60, 59*time.Second + time.Millisecond: 60, time.Millisecond: 1, 0: 1,
	} {
		if got := (&ThrottledError{Wait: wait}).Seconds(); got != want {
			t.Errorf("Seconds for %s = %d, want %d", wait, got, want)
		}
	}
}

func TestTruncate(t *testing.T) {
	long := strings.Repeat("я", 200) // 400 bytes
	got := truncate(long, maxEmail)
	if len(got) > maxEmail || !strings.HasPrefix(long, got) || len(got) < maxEmail-1 {
		t.Errorf("truncate to %d bytes gave %d bytes", maxEmail, len(got))
	}
	if got := truncate("a\xffb", 10); got != "a\uFFFDb" {
		t.Errorf("invalid UTF-8 kept: %q", got)
	}
}
