package crm

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"time"
)

// MaxPhotoBytes is the largest contact photo Tandem keeps.
const MaxPhotoBytes = 2 << 20

// PhotoTypes are the image types a contact photo may have: the ones every
// browser shows. The type is the one the bytes sniff as
// (http.DetectContentType), never what a client claims.
var PhotoTypes = []string{"image/jpeg", "image/png", "image/gif", "image/webp"}

// Message keys of a refused photo.
const (
	ErrPhotoType     = "error.photo_type"
	ErrPhotoTooLarge = "error.photo_too_large"
	ErrPhotoEmpty    = "error.photo_empty"
)

// Photo is a contact's picture.
type Photo struct {
	Type string // one of PhotoTypes
	Data []byte // nil when only the photo's description was read
	// ETag is the hex SHA-256 of Data: what HTTP caches and sync compare.
	ETag      string
	UpdatedAt time.Time
}

// NewPhoto checks data as a contact photo and describes it; a refused one
// is a *ValidationError on the field "photo".
func NewPhoto(data []byte) (*Photo, error) {
	if key := photoProblem(data); key != "" {
		return nil, &ValidationError{Fields: FieldErrors{"photo": key}}
	}
	return &Photo{Type: PhotoType(data), Data: data, ETag: PhotoETag(data)}, nil
}

// photoProblem is the message key of what is wrong with data as a photo,
// "" when nothing is.
func photoProblem(data []byte) string {
	switch {
	case len(data) == 0:
		return ErrPhotoEmpty
	case len(data) > MaxPhotoBytes:
		return ErrPhotoTooLarge
	case PhotoType(data) == "":
		return ErrPhotoType
	}
	return ""
}

// PhotoType is the type data sniffs as when it is one of PhotoTypes, else
// "".
func PhotoType(data []byte) string {
	ct := http.DetectContentType(data)
	if slices.Contains(PhotoTypes, ct) {
		return ct
	}
	return ""
}

// PhotoETag is the hash a photo is known by.
func PhotoETag(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
