package reconcile_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// pngOf is a tiny PNG whose colour tells it apart.
func pngOf(t testing.TB, c uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	img.Set(0, 0, color.RGBA{G: c, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func headOf(v string) string { h, _, _ := strings.Cut(v, "\n"); return h }

// TestMergePhotoAndCategories: a photo is compared by its hash (a base
// holds the hash alone), categories as a set; both merge field by field
// like the others.
func TestMergePhotoAndCategories(t *testing.T) {
	p1 := reconcile.EncodePhoto("image/png", pngOf(t, 1))
	p2 := reconcile.EncodePhoto("image/png", pngOf(t, 2))
	h1 := headOf(p1)
	cats := func(cs ...string) string { return reconcile.EncodeCategories(cs) }
	early, late := time.Unix(100, 0), time.Unix(200, 0)
	type F = reconcile.Fields
	for _, tc := range []struct {
		name                string
		base, local, remote F
		localAt, remoteAt   time.Time
		toLocal, toRemote   []string
		conflicts           []string
		want                F
	}{
		{"same photo, base by hash", F{"photo": h1}, F{"photo": p1}, F{"photo": p1}, early, late, nil, nil, nil, F{"photo": p1}},
		{"photo changed remotely", F{"photo": h1}, F{"photo": p1}, F{"photo": p2}, early, late, []string{"photo"}, nil, nil, F{"photo": p2}},
		{"photo changed locally", F{"photo": h1}, F{"photo": p2}, F{"photo": p1}, early, late, nil, []string{"photo"}, nil, F{"photo": p2}},
		{"photo removed remotely", F{"photo": h1}, F{"photo": p1}, F{}, early, late, []string{"photo"}, nil, nil, F{}},
		{"photo added locally", F{}, F{"photo": p1}, F{}, early, late, nil, []string{"photo"}, nil, F{"photo": p1}},
		{"photo changed on both sides: later wins", F{"photo": h1}, F{"photo": p2}, F{}, early, late,
			[]string{"photo"}, nil, []string{"photo"}, F{}},
		{"categories in another order are the same", F{"categories": cats("a", "b")}, F{"categories": cats("b", "a")},
			F{"categories": cats("B", "a")}, early, late, []string{"categories"}, nil, nil, F{"categories": cats("B", "a")}},
		{"a category removed remotely, the photo locally", F{"categories": cats("a", "b"), "photo": h1},
			F{"categories": cats("a", "b")}, F{"categories": cats("a"), "photo": p1}, early, late,
			[]string{"categories"}, []string{"photo"}, nil, F{"categories": cats("a")}},
		{"categories changed on both sides: each side's additions and removals apply", F{"categories": cats("a", "b")},
			F{"categories": cats("a", "b", "c")}, F{"categories": cats("a")}, late, early,
			[]string{"categories"}, []string{"categories"}, nil, F{"categories": cats("a", "c")}},
		{"categories on both sides of a link made before they synced: both kept", F{},
			F{"categories": cats("Friends")}, F{"categories": cats("VIP")}, late, early,
			[]string{"categories"}, []string{"categories"}, nil, F{"categories": cats("Friends", "VIP")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			merged, toLocal, toRemote, conflicts := reconcile.Merge(tc.base, tc.local, tc.remote, tc.localAt, tc.remoteAt)
			if !slices.Equal(toLocal, tc.toLocal) || !slices.Equal(toRemote, tc.toRemote) || !slices.Equal(conflicts, tc.conflicts) {
				t.Errorf("to local %v, to remote %v, conflicts %v; want %v %v %v", toLocal, toRemote, conflicts,
					tc.toLocal, tc.toRemote, tc.conflicts)
			}
			for k, v := range tc.want {
				if merged[k] != v { // the value itself, with its bytes: never the base's hash
					t.Errorf("merged %s = %.50q, want %.50q", k, merged[k], v)
				}
			}
			if len(merged) != len(tc.want) {
				t.Errorf("merged %v", merged)
			}
		})
	}
}

func TestPhotoAndCategoryEncodings(t *testing.T) {
	data := pngOf(t, 7)
	v := reconcile.EncodePhoto("image/png", data)
	ct, got, ok := reconcile.DecodePhoto(v)
	if !ok || ct != "image/png" || !bytes.Equal(got, data) {
		t.Fatalf("decoded %q %v %v", ct, got, ok)
	}
	if _, _, ok := reconcile.DecodePhoto(headOf(v)); ok {
		t.Error("a head alone decoded as a photo")
	}
	if _, _, ok := reconcile.DecodePhoto(headOf(v) + "\n" + "AAAA"); ok {
		t.Error("data that does not match its hash decoded")
	}
	base := reconcile.BaseOf(reconcile.Fields{reconcile.FieldPhoto: v, reconcile.FieldName: "Ann"})
	if base[reconcile.FieldPhoto] != headOf(v) || base[reconcile.FieldName] != "Ann" {
		t.Errorf("a base keeps %v", base)
	}
	if !base.Equal(reconcile.Fields{reconcile.FieldPhoto: v, reconcile.FieldName: "Ann"}) {
		t.Error("a base is not equal to the record it was made of")
	}
	// Restore writes an item again from its base: the photo comes from
	// the record.
	filled := reconcile.WithPayloads(reconcile.BaseOf(reconcile.Fields{reconcile.FieldPhoto: v}), reconcile.Fields{reconcile.FieldPhoto: v})
	if filled[reconcile.FieldPhoto] != v {
		t.Errorf("restored photo %.60q", filled[reconcile.FieldPhoto])
	}
	if got := reconcile.EncodeCategories([]string{" b ", "a\nline", "B", "", strings.Repeat("x", 500), "Ёж", "еж", "bell\x07", "bad \xff"}); got != "a line\nb\nЁж" {
		t.Errorf("categories %q", got)
	}
}

// TestPhotoAndCategoriesSync: a contact's photo and categories go both
// ways: the photo is the contact's photo, categories are the user's
// personal tags but the binding's own; a category without a tag makes
// one, one removed takes the tag off the contact only. The link's base
// keeps the photo's hash, not the photo.
func TestPhotoAndCategoriesSync(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			f := newFixtureOn(t, pg)
			p1, p2 := pngOf(t, 1), pngOf(t, 2)
			rid := f.conn.remoteAdd(reconcile.Fields{reconcile.FieldName: "Pat Doe",
				reconcile.FieldPhoto:      reconcile.EncodePhoto("image/png", p1),
				reconcile.FieldCategories: reconcile.EncodeCategories([]string{"VIP", "friends"})})
			if s := f.run(); s.LocalCreated != 1 {
				t.Fatalf("import %+v", s)
			}
			id := f.localOf(rid)
			if ph, err := f.st.ContactPhoto(f.ctx, f.v, id); err != nil || !bytes.Equal(ph.Data, p1) || ph.Type != "image/png" {
				t.Fatalf("photo %+v %v", ph, err)
			}
			tagNames := func() []string {
				var out []string
				for _, tg := range f.contact(id).Tags {
					if tg.ID != f.tag {
						out = append(out, tg.Name+"/"+tg.Kind)
					}
				}
				slices.Sort(out)
				return out
			}
			if got := tagNames(); !slices.Equal(got, []string{"VIP/personal", "friends/personal"}) {
				t.Fatalf("tags %v", got)
			}
			if l := f.link(id); strings.Contains(l.Base, "iVBOR") || !strings.Contains(l.Base, "sha256:") {
				t.Errorf("the base keeps the photo: %.200s", l.Base)
			}
			if s := f.run(); s.LocalUpdated+s.RemoteUpdated != 0 {
				t.Fatalf("second run changed things: %+v", s)
			}

			// Tandem: another photo, one category off. The scope tag is no
			// category.
			ctx := store.WithOrigin(f.ctx, "ui")
			if _, err := f.st.SetContactPhoto(ctx, f.v, id, p2, 0); err != nil {
				t.Fatal(err)
			}
			var friends string
			for _, tg := range f.contact(id).Tags {
				if tg.Name == "friends" {
					friends = tg.ID
				}
			}
			if err := f.st.InTx(ctx, func(tx *store.Tx) error {
				return tx.SetTag(ctx, f.v, store.EntityContact, id, friends, false)
			}); err != nil {
				t.Fatal(err)
			}
			if s := f.run(); s.RemoteUpdated != 1 {
				t.Fatalf("push %+v", s)
			}
			it := f.conn.items[rid]
			if _, data, _ := reconcile.DecodePhoto(it.fields[reconcile.FieldPhoto]); !bytes.Equal(data, p2) {
				t.Errorf("remote photo not the new one")
			}
			if got := it.fields[reconcile.FieldCategories]; got != "VIP" {
				t.Errorf("remote categories %q", got)
			}

			// Remote: the photo removed, a new category.
			f.conn.remoteEdit(rid, reconcile.Fields{reconcile.FieldPhoto: "", reconcile.FieldCategories: "New\nVIP"})
			if s := f.run(); s.LocalUpdated != 1 {
				t.Fatalf("pull %+v", s)
			}
			if _, err := f.st.ContactPhoto(f.ctx, f.v, id); err != store.ErrNotFound {
				t.Errorf("photo still there: %v", err)
			}
			if got := tagNames(); !slices.Equal(got, []string{"New/personal", "VIP/personal"}) {
				t.Errorf("tags %v", got)
			}
			if _, err := f.st.GetTag(f.ctx, f.v, friends); err != nil {
				t.Errorf("the removed category's tag went: %v", err)
			}
		})
	}
}

// TestNotCarriedNeverClears: a remote side that does not carry the photo
// and the categories (Google) never clears them in Tandem, and a record
// that changes them costs no write.
func TestNotCarriedNeverClears(t *testing.T) {
	f := newFixture(t)
	f.conn.notCarried = []string{reconcile.FieldPhoto, reconcile.FieldCategories}
	ctx := store.WithOrigin(f.ctx, "ui")
	vip := &crm.Tag{Name: "VIP"}
	if err := f.st.SaveTag(f.ctx, f.v, vip); err != nil {
		t.Fatal(err)
	}
	c := &crm.Contact{Name: "Ann Lee", Tags: []crm.TagRef{{ID: f.tag}, {ID: vip.ID}}, PhotoEdit: &crm.Photo{Data: pngOf(t, 1)}}
	if err := f.st.CreateContact(ctx, f.v, c); err != nil {
		t.Fatal(err)
	}
	if s := f.run(); s.RemoteCreated != 1 {
		t.Fatalf("export %+v", s)
	}
	rid := f.link(c.ID).RemoteID
	if s := f.run(); s.LocalUpdated+s.RemoteUpdated+s.Conflicts != 0 {
		t.Fatalf("a second run changed things: %+v", s)
	}
	f.conn.remoteEdit(rid, reconcile.Fields{reconcile.FieldJobTitle: "CEO"})
	if s := f.run(); s.LocalUpdated != 1 || s.RemoteUpdated != 0 {
		t.Fatalf("remote edit %+v", s)
	}
	got := f.contact(c.ID)
	if got.JobTitle != "CEO" || got.Photo == nil || !hasTag(got, vip.ID) {
		t.Fatalf("after the remote edit: title %q photo %v tags %v", got.JobTitle, got.Photo, got.Tags)
	}
	// A new photo in Tandem: pushed like any change (the remote side
	// drops it), and nothing comes back to clear it.
	if _, err := f.st.SetContactPhoto(ctx, f.v, c.ID, pngOf(t, 2), 0); err != nil {
		t.Fatal(err)
	}
	f.run()
	if s := f.run(); s.LocalUpdated+s.RemoteUpdated != 0 {
		t.Fatalf("the photo change keeps costing writes: %+v", s)
	}
	if ph, err := f.st.ContactPhoto(f.ctx, f.v, c.ID); err != nil || !bytes.Equal(ph.Data, pngOf(t, 2)) {
		t.Fatalf("photo after sync: %v", err)
	}
	if !hasTag(f.contact(c.ID), vip.ID) {
		t.Error("the personal tag went")
	}
}
