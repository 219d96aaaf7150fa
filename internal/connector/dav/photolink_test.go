package dav

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tandem-crm/tandem/internal/reconcile"
)

func TestVCardPhotoLinkOf(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"PHOTO;VALUE=uri:https://dav.example.com/pat.png", "https://dav.example.com/pat.png"},
		{"PHOTO;MEDIATYPE=image/png:http://dav.example.com:8080/p?id=1", "http://dav.example.com:8080/p?id=1"},
		{"PHOTO;VALUE=uri:/remote.php/dav/photo/1", "/remote.php/dav/photo/1"},
		{"PHOTO;VALUE=uri:relative/pat.png", ""},
		{"PHOTO;VALUE=uri:ftp://dav.example.com/pat.png", ""},
		{"PHOTO;VALUE=uri:cid:pat@example.com", ""},
		{"PHOTO;VALUE=uri:https:///pat.png", ""},
		{"PHOTO;ENCODING=b;TYPE=BMP:" + b64(append([]byte("BM"), make([]byte, 60)...)), ""},
	} {
		d, err := VCardCodec{}.Decode(card("3.0", tc.line))
		if err != nil {
			t.Fatal(err)
		}
		if d.PhotoLink != tc.want || !slices.Contains(d.NotCarried, reconcile.FieldPhoto) {
			t.Errorf("%.50s: link %q (not carried %v), want %q", tc.line, d.PhotoLink, d.NotCarried, tc.want)
		}
	}
}

// TestVCardEncodeLinked: a photo link's image counts as the card's photo;
// the link stays while Tandem's photo is that image, and goes for the
// image Tandem has when it differs, or when Tandem has none.
func TestVCardEncodeLinked(t *testing.T) {
	img, nw := testImage(t, "png", 1), testImage(t, "png", 2)
	linked := reconcile.EncodePhoto("image/png", img)
	const line = "PHOTO;VALUE=uri;X-KEEP=1:https://dav.example.com/pat.png"
	raw := card("3.0", "TITLE:Clerk", line)
	c := VCardCodec{Now: clock}
	d, err := c.Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	f := with(d.Fields, reconcile.FieldPhoto, linked)
	for _, tc := range []struct {
		name, photo, want string
	}{
		{"the same image", linked, "\r\n" + line + "\r\n"},
		{"another image", reconcile.EncodePhoto("image/png", nw), "\r\nPHOTO;ENCODING=b;TYPE=PNG;X-KEEP=1:" + b64(nw) + "\r\n"},
		{"none", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := with(f, reconcile.FieldJobTitle, "Boss")
			g = with(g, reconcile.FieldPhoto, tc.photo)
			out, err := c.EncodeLinked(raw, g, d.UID, "", linked)
			if err != nil {
				t.Fatal(err)
			}
			checkWellFormed(t, out)
			unfolded := strings.ReplaceAll(string(out), "\r\n ", "")
			if !strings.Contains(unfolded, "\r\nTITLE:Boss\r\n") {
				t.Errorf("the title was not written:\n%s", unfolded)
			}
			if tc.want != "" && !strings.Contains(unfolded, tc.want) || tc.want == "" && strings.Contains(unfolded, "PHOTO") {
				t.Errorf("want %q in\n%s", tc.want, unfolded)
			}
		})
	}
	// Unchanged, the card stays byte for byte.
	if out, err := c.EncodeLinked(raw, f, d.UID, "", linked); err != nil || string(out) != string(raw) {
		t.Errorf("an unchanged card was written as\n%s (%v)", out, err)
	}
}

// TestPhotoLink: against a real server behind a front that also serves
// photos (as Nextcloud does, behind the account's credentials), a card's
// photo link on the card's own server is fetched and carried; one on
// another host, a redirect away from the server, a 404, a 401 and a file
// that is not an image are not, and nothing is asked of another host.
// An update keeps the link while the photo is its image and writes the
// image in when the photo changed here.
func TestPhotoLink(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		png1, jpg := testImage(t, "png", 1), testImage(t, "jpeg", 3)
		var elsewhere atomic.Int32
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			elsewhere.Add(1)
			w.Write(png1)
		}))
		defer other.Close()
		target, err := url.Parse(e.srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		var photoGets atomic.Int32
		mux := http.NewServeMux()
		mux.Handle("/", httputil.NewSingleHostReverseProxy(target))
		mux.HandleFunc("/photos/", func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != e.srv.User() || p != e.srv.Password() || r.URL.Path == "/photos/private" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			photoGets.Add(1)
			switch r.URL.Path {
			case "/photos/pat.png":
				w.Write(png1)
			case "/photos/lee.jpg":
				w.Write(jpg)
			case "/photos/away":
				http.Redirect(w, r, other.URL+"/away.png", http.StatusFound)
			case "/photos/text":
				w.Write([]byte("not an image"))
			default:
				http.NotFound(w, r)
			}
		})
		front := httptest.NewServer(mux)
		defer front.Close()
		var refused atomic.Int32
		c, err := New(Config{URL: front.URL + target.Path, Username: e.srv.User(), Password: e.srv.Password(),
			OnUnauthorized: func(context.Context) error { refused.Add(1); return nil }})
		if err != nil {
			t.Fatal(err)
		}
		abURL, err := url.Parse(e.ab)
		if err != nil {
			t.Fatal(err)
		}
		ab := front.URL + abURL.Path
		cards := map[string]string{
			"pat":     front.URL + "/photos/pat.png",
			"lee":     "/photos/lee.jpg",
			"far":     other.URL + "/far.png",
			"away":    "/photos/away",
			"gone":    "/photos/gone.png",
			"private": "/photos/private",
			"text":    "/photos/text",
		}
		for uid, link := range cards {
			body := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + uid + "\r\nN:" + uid + ";;;;\r\n" +
				"PHOTO;VALUE=uri:" + link + "\r\nEND:VCARD\r\n"
			if _, err := e.srv.Put(ctx, e.ab+uid+".vcf", VCardType, []byte(body)); err != nil {
				t.Fatal(err)
			}
		}
		cc := c.NewCollection(ab, CollectionOptions{Kind: AddressBook, Codec: VCardCodec{}})
		items, _ := listAll(t, cc, "")
		byUID := map[string]reconcile.Item{}
		for _, it := range items {
			byUID[it.Identity] = it
		}
		want := map[string]string{"pat": reconcile.EncodePhoto("image/png", png1), "lee": reconcile.EncodePhoto("image/jpeg", jpg)}
		for uid := range cards {
			it := byUID[uid]
			carried := !slices.Contains(it.NotCarried, reconcile.FieldPhoto)
			if it.Fields[reconcile.FieldPhoto] != want[uid] || carried != (want[uid] != "") {
				t.Errorf("%s: photo %.40q carried %v, want %.40q", uid, it.Fields[reconcile.FieldPhoto], carried, want[uid])
			}
		}
		if n := elsewhere.Load(); n != 0 {
			t.Errorf("another host was asked %d times", n)
		}
		if n := refused.Load(); n != 0 {
			t.Errorf("a photo's 401 was taken for the account's: %d", n)
		}

		// Another field changes: the link stays, and the photo is still
		// its image, fetched once more to compare.
		pat := byUID["pat"]
		before := photoGets.Load()
		up, err := cc.Update(ctx, pat.RemoteID, pat.ETag, with(pat.Fields, reconcile.FieldJobTitle, "Boss"))
		if err != nil {
			t.Fatal(err)
		}
		got := string(mustGet(t, c, pat.RemoteID))
		if !strings.Contains(got, "/photos/pat.png") || !strings.Contains(got, "TITLE:Boss") {
			t.Fatalf("after the title changed: %q", got)
		}
		if up.Fields[reconcile.FieldPhoto] != want["pat"] || photoGets.Load()-before != 1 {
			t.Errorf("the updated item's photo %.40q after %d fetches", up.Fields[reconcile.FieldPhoto], photoGets.Load()-before)
		}
		// The photo changes here: the image is written in, the link goes.
		up, err = cc.Update(ctx, pat.RemoteID, up.ETag, with(up.Fields, reconcile.FieldPhoto, want["lee"]))
		if err != nil {
			t.Fatal(err)
		}
		got = string(mustGet(t, c, pat.RemoteID))
		if strings.Contains(got, "/photos/pat.png") || !strings.Contains(got, "PHOTO;ENCODING=b;TYPE=JPEG:") ||
			up.Fields[reconcile.FieldPhoto] != want["lee"] {
			t.Fatalf("after the photo changed: %q (item photo %.40q)", got, up.Fields[reconcile.FieldPhoto])
		}
		// A link elsewhere stays whatever Tandem sends.
		far := byUID["far"]
		if _, err := cc.Update(ctx, far.RemoteID, far.ETag, with(far.Fields, reconcile.FieldPhoto, want["lee"])); err != nil {
			t.Fatal(err)
		}
		if got := string(mustGet(t, c, far.RemoteID)); !strings.Contains(got, other.URL+"/far.png") || strings.Contains(got, "ENCODING") {
			t.Fatalf("the link to another host was written over: %q", got)
		}
		if n := elsewhere.Load(); n != 0 {
			t.Errorf("another host was asked %d times", n)
		}
	})
}
