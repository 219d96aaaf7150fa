package dav

import "testing"

func TestStartURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://127.0.0.1:5232", "http://127.0.0.1:5232/"},
		{"https://dav.example.com/remote.php/dav", "https://dav.example.com/remote.php/dav"},
		{"ann@example.com", "https://example.com/"},
		{"  dav.example.com ", "https://dav.example.com/"},
		{"", ""},
		{"ftp://example.com", ""},
	} {
		u, err := startURL(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("startURL(%q) = %s, want an error", tc.in, u)
			}
			continue
		}
		if err != nil || u.String() != tc.want {
			t.Errorf("startURL(%q) = %v, %v; want %s", tc.in, u, err, tc.want)
		}
	}
}

func TestCRLF(t *testing.T) {
	for in, want := range map[string]string{
		"A\nB\n":     "A\r\nB\r\n",
		"A\r\nB\r\n": "A\r\nB\r\n",
		"\nA":        "\r\nA",
		"AB":         "AB",
	} {
		if got := string(crlf(in)); got != want {
			t.Errorf("crlf(%q) = %q, want %q", in, got, want)
		}
	}
}
