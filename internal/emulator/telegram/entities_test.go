package telegram

import (
	"fmt"
	"testing"
)

func fmtEnts(ents []MessageEntity) string {
	out := ""
	for _, e := range ents {
		out += fmt.Sprintf("%s@%d+%d", e.Type, e.Offset, e.Length)
		if e.URL != "" {
			out += "=" + e.URL
		}
		if e.Language != "" {
			out += ":" + e.Language
		}
		out += " "
	}
	return out
}

func TestParseModes(t *testing.T) {
	for _, tc := range []struct {
		mode, in   string
		text, ents string
		err        string
	}{
		{"HTML", "<b>bold</b> and <i>it</i>", "bold and it", "bold@0+4 italic@9+2 ", ""},
		{"HTML", "&lt;b&gt; &amp; &quot; &#128512; &foo;", "<b> & \" 😀 &foo;", "", ""},
		{"HTML", `😀<b>x</b>`, "😀x", "bold@2+1 ", ""},
		{"HTML", `<a href="https://example.com/?a=1&amp;b=2">link</a>`, "link", "text_link@0+4=https://example.com/?a=1&b=2 ", ""},
		{"HTML", `<a href="not a url">x</a>`, "x", "", ""},
		{"HTML", `<A HREF=example.com>y</A>`, "y", "text_link@0+1=example.com ", ""},
		{"HTML", `<pre><code class="language-go">x := 1</code></pre>`, "x := 1", "pre@0+6:go ", ""},
		{"HTML", `<code class="language-go">x</code>`, "x", "code@0+1 ", ""},
		{"HTML", `<blockquote expandable>q</blockquote>`, "q", "expandable_blockquote@0+1 ", ""},
		{"HTML", `<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>`, "st", "spoiler@0+1 spoiler@1+1 ", ""},
		{"HTML", `<b><i>x</i></b>`, "x", "bold@0+1 italic@0+1 ", ""},
		{"HTML", " <b> x </b> ", "x", "bold@0+1 ", ""},
		{"HTML", `<span>x</span>`, "", "", `Tag "span" must have class "tg-spoiler" at byte offset 0`},
		{"HTML", "x</b>", "", "", "Unexpected end tag at byte offset 1"},
		{"HTML", "<b>x</b", "", "", "Unclosed end tag at byte offset 4"},
		{"HTML", "<b", "", "", "Unclosed start tag at byte offset 0"},
		{"HTML", "<b>x", "", "", `Can't find end tag corresponding to start tag "b"`},
		{"HTML", "<script>x</script>", "", "", `Unsupported start tag "script" at byte offset 0`},
		{"HTML", "🏟 🏟&lt;<i>a</em   >", "", "", `Unmatched end tag at byte offset 17, expected "</i>", found "</em>"`},
		{"HTML", `<a href>x</a>`, "", "", `Expected equal sign in declaration of an attribute of the tag "a" at byte offset 3`},
		{"MarkdownV2", `*bold* _it_ __u__ ~s~ ||sp|| ` + "`c`" + ` [l](https://e.com)`, "bold it u s sp c l",
			"bold@0+4 italic@5+2 underline@8+1 strikethrough@10+1 spoiler@12+2 code@15+1 text_link@17+1=https://e.com ", ""},
		{"MarkdownV2", `a\.b \*not bold\*`, "a.b *not bold*", "", ""},
		{"MarkdownV2", "```go\nfmt.Println()```", "fmt.Println()", "pre@0+13:go ", ""},
		{"MarkdownV2", "*bold", "", "", "Can't find end of Bold entity at byte offset 0"},
		{"MarkdownV2", "a-b", "", "", `Character '-' is reserved and must be escaped with the preceding '\'`},
		{"MarkdownV2", ">quoted", "quoted", "blockquote@0+6 ", ""},
		{"Markdown", "*b* _i_ `c` [t](https://e.com)", "b i c t", "bold@0+1 italic@2+1 code@4+1 text_link@6+1=https://e.com ", ""},
		{"Markdown", "1*2", "", "", "Can't find end of the entity starting at byte offset 1"},
	} {
		t.Run(tc.mode+" "+tc.in, func(t *testing.T) {
			text, ents, aerr := formatted(tc.in, tc.mode, "")
			if tc.err != "" {
				if aerr == nil || aerr.desc != "Bad Request: can't parse entities: "+tc.err {
					t.Fatalf("got %q %v, want error %q", text, aerr, tc.err)
				}
				return
			}
			if aerr != nil || text != tc.text || fmtEnts(ents) != tc.ents {
				t.Fatalf("got %q [%s] %v, want %q [%s]", text, fmtEnts(ents), aerr, tc.text, tc.ents)
			}
		})
	}
}
