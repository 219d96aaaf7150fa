package message

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// dataImage matches the data: URLs kept by SanitizeHTML (opaque part after "data:"). SVG is
// left out on purpose: it can carry scripts.
var dataImage = regexp.MustCompile(`^image/(png|jpeg|gif|webp);base64,`)

var policy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemeWithCustomPolicy("cid", func(u *url.URL) bool {
		return u.Opaque != "" || u.Path != ""
	})
	p.AllowURLSchemeWithCustomPolicy("data", func(u *url.URL) bool {
		if u.RawQuery != "" || u.Fragment != "" {
			return false
		}
		m := dataImage.FindString(u.Opaque)
		if m == "" {
			return false
		}
		_, err := base64.StdEncoding.DecodeString(u.Opaque[len(m):])
		return err == nil
	})
	// Links in letters open outside Tandem and tell the target nothing about it.
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
})

// SanitizeHTML makes untrusted HTML (a letter's body, a user's signature) safe to show:
// bluemonday's UGC policy (no scripts, styles, event handlers, forms, frames or javascript:
// URLs) plus inline images by "cid:" reference and base64 data: URLs of PNG, JPEG, GIF and
// WebP. Remote images stay allowed; whether to load them is the viewer's choice.
func SanitizeHTML(s string) string {
	return policy().Sanitize(s)
}

// HTMLToText renders HTML as plain text: the visible text with paragraphs and line breaks
// kept, lists as "- " items, and link targets in angle brackets after their text when they
// differ from it. Used for the text/plain alternative of composed letters.
func HTMLToText(s string) string {
	return htmlToText(s, true, 0)
}

// skipContent are elements whose text is never shown.
var skipContent = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Head: true, atom.Title: true,
	atom.Noscript: true, atom.Template: true, atom.Svg: true, atom.Object: true,
	atom.Iframe: true, atom.Select: true, atom.Textarea: true,
}

// blocks are elements that start and end a line.
var blocks = map[atom.Atom]int{
	atom.P: 2, atom.Div: 1, atom.Tr: 1, atom.Table: 1, atom.Ul: 1, atom.Ol: 1,
	atom.H1: 2, atom.H2: 2, atom.H3: 2, atom.H4: 2, atom.H5: 2, atom.H6: 2,
	atom.Blockquote: 2, atom.Pre: 2, atom.Hr: 1, atom.Section: 1, atom.Article: 1,
	atom.Header: 1, atom.Footer: 1, atom.Dd: 1, atom.Dt: 1, atom.Dl: 1, atom.Address: 1,
	atom.Center: 1, atom.Form: 1, atom.Fieldset: 1, atom.Figure: 1, atom.Main: 1, atom.Nav: 1,
	atom.Body: 1, atom.Html: 1,
}

type textWriter struct {
	b        strings.Builder
	newlines int  // line breaks owed before the next text
	space    bool // a space owed before the next text
}

func (w *textWriter) br(n int) {
	if w.b.Len() > 0 && n > w.newlines {
		w.newlines = n
	}
	w.space = false
}

func (w *textWriter) text(s string) {
	if s == "" {
		return
	}
	if w.newlines > 0 {
		w.b.WriteString(strings.Repeat("\n", min(w.newlines, 2)))
		w.newlines, w.space = 0, false
	} else if w.space && w.b.Len() > 0 {
		w.b.WriteByte(' ')
		w.space = false
	}
	w.b.WriteString(s)
}

// write adds text, collapsing white space outside <pre>.
func (w *textWriter) write(s string, pre bool) {
	if pre {
		w.text(s)
		return
	}
	fields := strings.Fields(s)
	if len(fields) == 0 {
		if s != "" {
			w.space = true
		}
		return
	}
	if startsSpace(s) {
		w.space = true
	}
	w.text(strings.Join(fields, " "))
	if endsSpace(s) {
		w.space = true
	}
}

func startsSpace(s string) bool { return strings.TrimLeft(s, " \t\r\n\f\u00a0") != s }
func endsSpace(s string) bool   { return strings.TrimRight(s, " \t\r\n\f\u00a0") != s }

// htmlToText stops once the text reaches limit bytes (0: no limit).
func htmlToText(s string, links bool, limit int) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var w textWriter
	skip := 0 // depth inside skipContent elements
	pre := 0
	var href []string // open <a> targets
	var linkText []int
	for {
		if limit > 0 && w.b.Len() >= limit {
			return strings.TrimSpace(w.b.String())
		}
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return strings.TrimSpace(w.b.String())
		case html.TextToken:
			if skip == 0 {
				w.write(string(z.Text()), pre > 0)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			if skipContent[a] && tt == html.StartTagToken {
				skip++
				continue
			}
			if skip > 0 {
				continue
			}
			switch a {
			case atom.Br:
				w.br(1)
				w.newlines = max(w.newlines, 1)
				if w.b.Len() == 0 {
					w.newlines = 0
				}
			case atom.Li:
				w.br(1)
				w.text("- ")
			case atom.Td, atom.Th:
				w.space = true
			case atom.Pre:
				pre++
			case atom.A:
				target := ""
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					if string(k) == "href" {
						target = strings.TrimSpace(string(v))
					}
				}
				if tt == html.StartTagToken {
					href = append(href, target)
					linkText = append(linkText, w.b.Len())
				}
			}
			if n, ok := blocks[a]; ok {
				w.br(n)
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if skipContent[a] {
				if skip > 0 {
					skip--
				}
				continue
			}
			if skip > 0 {
				continue
			}
			switch a {
			case atom.Pre:
				if pre > 0 {
					pre--
				}
			case atom.A:
				if len(href) > 0 {
					target, start := href[len(href)-1], linkText[len(linkText)-1]
					href, linkText = href[:len(href)-1], linkText[:len(linkText)-1]
					if links && showLink(target) {
						text := ""
						if start <= w.b.Len() {
							text = strings.TrimSpace(w.b.String()[start:])
						}
						t := strings.TrimPrefix(target, "mailto:")
						if text != t && text != target {
							w.text(" <" + t + ">")
						}
					}
				}
			}
			if n, ok := blocks[a]; ok {
				w.br(n)
			}
		}
	}
}

func showLink(target string) bool {
	l := strings.ToLower(target)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "mailto:")
}
