package dav

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"slices"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/reconcile"
)

// photoField is the photo field of an image given in base64.
func photoField(b64 string) string {
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		panic(err)
	}
	return reconcile.EncodePhoto("image/jpeg", data)
}

// testImage is a tiny image of a format, with a colour that tells two
// apart.
func testImage(t testing.TB, format string, c uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(0, 0, color.RGBA{R: c, A: 255})
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, nil)
	case "gif":
		err = gif.Encode(&b, img, nil)
	case "webp": // no encoder in the standard library: the header sniffs alike
		b.WriteString("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x01\x40\x00\x00\x07\x10\x11\x11\x88\x88\xfe\x07\x00")
		b.WriteByte(c)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// card is a vCard of version with extra lines.
func card(version string, lines ...string) []byte {
	s := "BEGIN:VCARD\nVERSION:" + version + "\nUID:u-1\nFN:Pat Doe\nN:Doe;Pat;;;\n"
	for _, l := range lines {
		s += l + "\n"
	}
	return obj(s + "REV:20240101T000000Z\nEND:VCARD\n")
}

// folded folds one content line as servers do.
func folded(l string) string {
	return strings.ReplaceAll(strings.TrimSuffix(fold(l), "\r\n"), "\r\n", "\n")
}

func TestVCardPhotoRead(t *testing.T) {
	jpg, pngImg := testImage(t, "jpeg", 1), testImage(t, "png", 1)
	bmp := append([]byte("BM"), make([]byte, 60)...)
	for _, tc := range []struct {
		name    string
		raw     []byte
		want    string // the photo field
		carried bool
	}{
		{"3.0 ENCODING=b", card("3.0", folded("PHOTO;ENCODING=b;TYPE=JPEG:"+b64(jpg))), reconcile.EncodePhoto("image/jpeg", jpg), true},
		{"2.1 BASE64, type from the bytes", card("2.1", folded("PHOTO;JPEG;ENCODING=BASE64:"+b64(pngImg))),
			reconcile.EncodePhoto("image/png", pngImg), true},
		{"4.0 data URI", card("4.0", folded("PHOTO:data:image/png;base64,"+b64(pngImg))), reconcile.EncodePhoto("image/png", pngImg), true},
		{"4.0 data URI escaped as text", card("4.0", folded(`PHOTO:data:image/png\;base64\,`+b64(pngImg))),
			reconcile.EncodePhoto("image/png", pngImg), true},
		{"gif", card("3.0", folded("PHOTO;ENCODING=b;TYPE=GIF:"+b64(testImage(t, "gif", 1)))),
			reconcile.EncodePhoto("image/gif", testImage(t, "gif", 1)), true},
		{"webp", card("4.0", folded("PHOTO:data:image/webp;base64,"+b64(testImage(t, "webp", 1)))),
			reconcile.EncodePhoto("image/webp", testImage(t, "webp", 1)), true},
		{"none", card("3.0"), "", true},
		{"4.0 link", card("4.0", "PHOTO;MEDIATYPE=image/jpeg:https://example.com/pat.jpg"), "", false},
		{"3.0 link", card("3.0", "PHOTO;VALUE=uri:http://example.com/pat.jpg"), "", false},
		{"a type Tandem does not keep", card("3.0", folded("PHOTO;ENCODING=b;TYPE=BMP:"+b64(bmp))), "", false},
		{"not base64", card("3.0", "PHOTO;ENCODING=b;TYPE=JPEG:not*base64!"), "", false},
		{"a data URI not in base64", card("4.0", "PHOTO:data:image/svg+xml,%3Csvg%3E"), "", false},
		{"a data URI cut off by the server (Radicale)", card("4.0", `PHOTO:data:image/jpeg\;base64`), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := VCardCodec{}.Decode(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Fields[reconcile.FieldPhoto]; got != tc.want {
				t.Errorf("photo %.60q, want %.60q", got, tc.want)
			}
			if carried := !slices.Contains(d.NotCarried, reconcile.FieldPhoto); carried != tc.carried {
				t.Errorf("carried %v, want %v", carried, tc.carried)
			}
			if out, err := (VCardCodec{Now: clock}).Encode(tc.raw, d.Fields, d.UID, ""); err != nil || string(out) != string(tc.raw) {
				t.Errorf("written back as\n%s, %v", out, err)
			}
		})
	}
}

func TestVCardPhotoWrite(t *testing.T) {
	old, nw := testImage(t, "jpeg", 1), testImage(t, "png", 2)
	apple := card("3.0", "TITLE:Boss", folded("item7.PHOTO;ENCODING=b;TYPE=JPEG;X-ABCROP-RECTANGLE=ABClipRect_1&0&0&2&2&x;X-FOO=1:"+b64(old)),
		"CATEGORIES:a,b")
	link := card("4.0", "PHOTO;MEDIATYPE=image/jpeg:https://example.com/pat.jpg")
	for _, tc := range []struct {
		name  string
		raw   []byte
		photo string // the field to write
		want  string // a logical line the card must hold ("" none)
		same  bool   // the card must stay byte for byte
	}{
		{"added on 3.0", card("3.0", "TITLE:Boss"), reconcile.EncodePhoto("image/png", nw), "\r\nPHOTO;ENCODING=b;TYPE=PNG:" + b64(nw) + "\r\n", false},
		{"added on 4.0", card("4.0"), reconcile.EncodePhoto("image/png", nw), "\r\nPHOTO:data:image/png;base64," + b64(nw) + "\r\n", false},
		{"added on 2.1", card("2.1"), reconcile.EncodePhoto("image/png", nw), "\r\nPHOTO;ENCODING=BASE64;TYPE=PNG:" + b64(nw) + "\r\n", false},
		{"replaced keeps group and parameters but the old crop", apple, reconcile.EncodePhoto("image/png", nw),
			"\r\nitem7.PHOTO;ENCODING=b;TYPE=PNG;X-FOO=1:" + b64(nw) + "\r\n", false},
		{"replaced on 4.0", card("4.0", folded("PHOTO:data:image/jpeg;base64,"+b64(old))), reconcile.EncodePhoto("image/png", nw),
			"\r\nPHOTO:data:image/png;base64," + b64(nw) + "\r\n", false},
		{"removed", apple, "", "", false},
		{"a link stays whatever Tandem sends", link, reconcile.EncodePhoto("image/png", nw), "", true},
		{"a data URI the server cut off is written over, in the form it keeps", card("4.0", `PHOTO:data:image/jpeg\;base64`),
			reconcile.EncodePhoto("image/png", nw), "\r\nPHOTO;ENCODING=b;TYPE=PNG:" + b64(nw) + "\r\n", false},
		{"a data URI the server cut off stays when Tandem has none", card("4.0", `PHOTO:data:image/jpeg\;base64`), "", "", true},
		{"a link stays when Tandem has none", link, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := VCardCodec{Now: clock}
			d, err := c.Decode(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			f := with(d.Fields, reconcile.FieldPhoto, tc.photo)
			out, err := c.Encode(tc.raw, f, d.UID, "")
			if err != nil {
				t.Fatal(err)
			}
			if tc.same {
				if string(out) != string(tc.raw) {
					t.Fatalf("the card changed:\n%s", out)
				}
				return
			}
			checkWellFormed(t, out)
			unfolded := strings.ReplaceAll(string(out), "\r\n ", "")
			if tc.want != "" && !strings.Contains(unfolded, tc.want) {
				t.Errorf("no %q in\n%s", tc.want, unfolded)
			}
			if tc.photo == "" && strings.Contains(unfolded, "PHOTO") {
				t.Errorf("photo not removed:\n%s", out)
			}
			for _, n := range changedNames(tc.raw, out) {
				if n != "PHOTO" && n != "REV" {
					t.Errorf("%s lines changed", n)
				}
			}
			d2, err := c.Decode(out)
			if err != nil {
				t.Fatal(err)
			}
			sameFields(t, "written", d2.Fields, f)
			if d2.Fields[reconcile.FieldPhoto] != tc.photo {
				t.Error("the photo read back is not the one written")
			}
		})
	}
	// A photo value without its image (a link's base) is never written.
	d, _ := VCardCodec{}.Decode(apple)
	head, _, _ := strings.Cut(reconcile.EncodePhoto("image/png", nw), "\n")
	if _, err := (VCardCodec{Now: clock}).Encode(apple, with(d.Fields, reconcile.FieldPhoto, head), d.UID, ""); err == nil {
		t.Error("a photo without its image was written")
	}
}

func TestVCardCategories(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, tc := range []struct {
		name string
		raw  []byte
		read string // the field as read
		want string // the field to write ("-": none to write)
		line string // a logical line the output must hold; "" when none may be CATEGORIES
	}{
		{"one line", card("3.0", "CATEGORIES:friends,apple"), "apple\nfriends", "-", ""},
		{"several lines, duplicates, escapes", card("4.0", "CATEGORIES:Work,Golf\\, Tennis", "CATEGORIES:work,Клиенты"),
			"Golf, Tennis\nWork\nКлиенты", "-", ""},
		{"none", card("3.0"), "", "-", ""},
		{"added to the first line", card("3.0", "CATEGORIES:friends,apple", "CATEGORIES:x"), "apple\nfriends\nx",
			"apple\nfriends\nnew, one\nx", "\r\nCATEGORIES:friends,apple,new\\, one\r\n"},
		{"removed keeps the rest as written", card("3.0", "CATEGORIES:friends,apple", "CATEGORIES:x"), "apple\nfriends\nx",
			"friends\nx", "\r\nCATEGORIES:friends\r\n"},
		{"a line left empty goes", card("3.0", "CATEGORIES:friends,apple", "CATEGORIES:x"), "apple\nfriends\nx",
			"apple\nfriends", "\r\nCATEGORIES:friends,apple\r\nREV"},
		{"all removed", card("3.0", "CATEGORIES:friends,apple"), "apple\nfriends", "", ""},
		{"new line", card("4.0"), "", "b\nVIP; gold", "\r\nCATEGORIES:b,VIP\\; gold\r\n"},
		{"another spelling", card("3.0", "CATEGORIES:friends,apple"), "apple\nfriends", "apple\nFriends", "\r\nCATEGORIES:Friends,apple\r\n"},
		{"one Tandem does not keep stays", card("3.0", "CATEGORIES:"+long+",apple"), "apple", "", "\r\nCATEGORIES:" + long + "\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := VCardCodec{Now: clock}
			d, err := c.Decode(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Fields[reconcile.FieldCategories]; got != tc.read {
				t.Errorf("read %q, want %q", got, tc.read)
			}
			if out, err := c.Encode(tc.raw, d.Fields, d.UID, ""); err != nil || string(out) != string(tc.raw) {
				t.Errorf("unchanged written back as\n%s, %v", out, err)
			}
			if tc.want == "-" {
				return
			}
			f := with(d.Fields, reconcile.FieldCategories, tc.want)
			out, err := c.Encode(tc.raw, f, d.UID, "")
			if err != nil {
				t.Fatal(err)
			}
			checkWellFormed(t, out)
			unfolded := strings.ReplaceAll(string(out), "\r\n ", "")
			if tc.line != "" && !strings.Contains(unfolded, tc.line) {
				t.Errorf("no %q in\n%s", tc.line, out)
			}
			if tc.line == "" && strings.Contains(unfolded, "CATEGORIES") {
				t.Errorf("categories left:\n%s", out)
			}
			for _, n := range changedNames(tc.raw, out) {
				if n != "CATEGORIES" && n != "REV" {
					t.Errorf("%s lines changed", n)
				}
			}
			d2, err := c.Decode(out)
			if err != nil {
				t.Fatal(err)
			}
			sameFields(t, "written", d2.Fields, f)
		})
	}
}

// TestVCardMediaSurvive: a change of another field leaves PHOTO and
// CATEGORIES lines byte for byte, however they are written (folded,
// grouped, as a link).
func TestVCardMediaSurvive(t *testing.T) {
	jpg := testImage(t, "jpeg", 3)
	for _, raw := range [][]byte{
		appleCard,
		card("3.0", "item1.PHOTO;ENCODING=b;TYPE=JPEG;X-ABCROP-RECTANGLE=x:"+b64(jpg), "CATEGORIES:b,a,B"),
		card("4.0", "PHOTO:https://example.com/p.jpg", "CATEGORIES;X-X=1:"+strings.Repeat("long category, ", 9)),
		card("4.0", folded("PHOTO:data:image/jpeg;base64,"+b64(jpg)), "categories:a\\,b"),
	} {
		c := VCardCodec{Now: clock}
		d, err := c.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Encode(raw, with(d.Fields, reconcile.FieldJobTitle, "Changed"), d.UID, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range changedNames(raw, out) {
			if n != "TITLE" && n != "REV" {
				t.Errorf("%s lines changed:\n%s", n, out)
			}
		}
	}
}
