package store

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"slices"
	"testing"

	"github.com/tandem-crm/tandem/internal/crm"
)

func pngPhoto(t *testing.T, w int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, 1))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A contact photo is written, read, replaced and removed with the
// contact's access; every change moves the contact on and is logged for
// sync; lists describe it without the bytes.
func TestContactPhotos(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := WithOrigin(context.Background(), "ui")
		readers := mkRole(t, s, "Readers")
		alice := mkUser(t, s, "alice@example.com")
		bob := mkUser(t, s, "bob@example.com", readers)
		carol := mkUser(t, s, "carol@example.com")
		c := &crm.Contact{Name: "Pat", Access: []crm.Grant{{RoleID: readers, Level: crm.AccessRead}}}
		if err := s.CreateContact(ctx, alice, c); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ContactPhoto(ctx, alice, c.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a photo before any: %v", err)
		}
		seq, _ := s.LastChange(ctx)
		img := pngPhoto(t, 3)
		p, err := s.SetContactPhoto(ctx, alice, c.ID, img, c.Version)
		if err != nil {
			t.Fatal(err)
		}
		if p.Type != "image/png" || p.ETag != crm.PhotoETag(img) {
			t.Errorf("photo %+v", p)
		}
		got, err := s.GetContact(ctx, alice, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != c.Version+1 || got.Photo == nil || got.Photo.ETag != p.ETag || got.Photo.Data != nil {
			t.Errorf("contact after the photo: version %d photo %+v", got.Version, got.Photo)
		}
		changes, _ := s.Changes(ctx, seq, EntityContact, 10)
		if len(changes) != 1 || changes[0].EntityID != c.ID || changes[0].Op != "update" || changes[0].Origin != "ui" {
			t.Errorf("change log %+v", changes)
		}
		// Read access sees it; no access does not; only edit changes it.
		if ph, err := s.ContactPhoto(ctx, bob, c.ID); err != nil || !bytes.Equal(ph.Data, img) || ph.Type != "image/png" {
			t.Errorf("bob reads %v", err)
		}
		if _, err := s.ContactPhoto(ctx, carol, c.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("carol reads: %v", err)
		}
		if _, err := s.SetContactPhoto(ctx, bob, c.ID, pngPhoto(t, 4), 0); !errors.Is(err, ErrForbidden) {
			t.Errorf("bob writes: %v", err)
		}
		if err := s.DeleteContactPhoto(ctx, carol, c.ID, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("carol deletes: %v", err)
		}
		if _, err := s.SetContactPhoto(ctx, alice, c.ID, pngPhoto(t, 4), c.Version); !errors.Is(err, ErrConflict) {
			t.Errorf("a stale version: %v", err)
		}
		// The same photo again is no change.
		if _, err := s.SetContactPhoto(ctx, alice, c.ID, img, 0); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.GetContact(ctx, alice, c.ID); again.Version != got.Version {
			t.Errorf("the same photo moved the version %d → %d", got.Version, again.Version)
		}
		// Refused files.
		var ve *crm.ValidationError
		for data, key := range map[string]string{"": crm.ErrPhotoEmpty, "BM\x00\x00 a bitmap": crm.ErrPhotoType,
			"%PDF-1.4 not an image": crm.ErrPhotoType, string(make([]byte, crm.MaxPhotoBytes+1)): crm.ErrPhotoTooLarge} {
			if _, err := s.SetContactPhoto(ctx, alice, c.ID, []byte(data), 0); !errors.As(err, &ve) || ve.Fields["photo"] != key {
				t.Errorf("%.10q: %v, want %s", data, err, key)
			}
		}
		big := append(pngPhoto(t, 1), make([]byte, crm.MaxPhotoBytes-100)...) // a PNG of nearly 2 MB
		if _, err := s.SetContactPhoto(ctx, alice, c.ID, big, 0); err != nil {
			t.Errorf("a photo under the limit: %v", err)
		}
		// Lists describe the photo, the bytes stay out.
		list, _, err := s.ListContacts(ctx, alice, ContactFilter{})
		if err != nil || len(list) != 1 || list[0].Photo == nil || list[0].Photo.Data != nil {
			t.Fatalf("list %+v %v", list, err)
		}
		// The update of the contact's fields leaves the photo; PhotoEdit
		// replaces or removes it.
		cur, _ := s.GetContact(ctx, alice, c.ID)
		cur.JobTitle = "Boss"
		if err := s.UpdateContact(ctx, alice, cur, cur.Version); err != nil {
			t.Fatal(err)
		}
		if ph, err := s.ContactPhoto(ctx, alice, c.ID); err != nil || !bytes.Equal(ph.Data, big) {
			t.Fatalf("an update lost the photo: %v", err)
		}
		cur, _ = s.GetContact(ctx, alice, c.ID)
		cur.PhotoEdit = &crm.Photo{Data: []byte("not an image")}
		if err := s.UpdateContact(ctx, alice, cur, cur.Version); !errors.As(err, &ve) || ve.Fields["photo"] != crm.ErrPhotoType {
			t.Errorf("a bad photo with the contact: %v", err)
		}
		cur.PhotoEdit = &crm.Photo{}
		if err := s.UpdateContact(ctx, alice, cur, cur.Version); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ContactPhoto(ctx, alice, c.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("removed photo: %v", err)
		}
		if err := s.DeleteContactPhoto(ctx, alice, c.ID, 0); err != nil {
			t.Errorf("removing no photo: %v", err)
		}
		// Created with a photo, one by one and in bulk; ContactPhotos
		// reads several, by the viewer's access.
		one := &crm.Contact{Name: "One", PhotoEdit: &crm.Photo{Data: pngPhoto(t, 5)}}
		if err := s.CreateContact(ctx, alice, one); err != nil {
			t.Fatal(err)
		}
		bulk := []*crm.Contact{{Name: "Two", PhotoEdit: &crm.Photo{Data: pngPhoto(t, 6)}}, {Name: "Three"}}
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.CreateContacts(ctx, alice, bulk) }); err != nil {
			t.Fatal(err)
		}
		photos, err := s.ContactPhotos(ctx, alice, []string{one.ID, bulk[0].ID, bulk[1].ID, c.ID})
		if err != nil || len(photos) != 2 || !bytes.Equal(photos[one.ID].Data, pngPhoto(t, 5)) ||
			!bytes.Equal(photos[bulk[0].ID].Data, pngPhoto(t, 6)) {
			t.Fatalf("photos %v %v", len(photos), err)
		}
		if photos, _ := s.ContactPhotos(ctx, carol, []string{one.ID}); len(photos) != 0 {
			t.Error("carol reads photos of contacts she cannot see")
		}
		// Deleting the contact deletes its photo.
		if err := s.DeleteContact(ctx, alice, one.ID); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM contact_photos WHERE contact_id = $1`, one.ID).Scan(&n); err != nil || n != 0 {
			t.Errorf("photo rows left: %d %v", n, err)
		}
	})
}

// EnsurePersonalTags finds the user's personal tags by folded name and
// makes the missing ones, never another user's or a shared tag.
func TestEnsurePersonalTags(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mkUser(t, s, "alice@example.com")
		bob := mkUser(t, s, "bob@example.com")
		mine := &crm.Tag{Name: "Ёлка"}
		shared := &crm.Tag{Name: "VIP", Kind: crm.TagCorporate}
		bobs := &crm.Tag{Name: "Golf"}
		if err := s.SaveTag(ctx, alice, mine); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveTag(ctx, alice, shared); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveTag(ctx, bob, bobs); err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		if err := s.InTx(ctx, func(tx *Tx) error {
			var err error
			got, err = tx.EnsurePersonalTags(ctx, alice, []string{"елка", "VIP", "Golf", "golf"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got["елка"] != mine.ID || got["vip"] == shared.ID || got["golf"] == bobs.ID || got["vip"] == "" {
			t.Fatalf("tags %v", got)
		}
		tags, _ := s.ListTags(ctx, alice, crm.TagPersonal)
		var names []string
		for _, tg := range tags {
			names = append(names, tg.Name)
		}
		if !slices.Equal(names, []string{"Golf", "VIP", "Ёлка"}) {
			t.Errorf("alice's personal tags %v", names)
		}
	})
}
