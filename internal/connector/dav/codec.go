package dav

import (
	"time"

	"github.com/tandem-crm/tandem/internal/reconcile"
)

// A Codec maps one kind of object (a vCard, a VEVENT resource, a VTODO
// resource) to the engine's fields and back. Servers and other clients
// put much in an object that Tandem does not model (X- properties,
// unknown parameters, alarms, photos, addresses); a codec therefore
// never rebuilds an object from fields but patches the one last read,
// so whatever Tandem did not change leaves byte for byte as it came.
type Codec interface {
	// Decode reads one object as the server holds it. A malformed object
	// is an error (the caller journals it and skips the object); what can
	// be read around a flaw is read, and the flaw noted in Warnings.
	Decode(raw []byte) (Decoded, error)
	// Encode writes f into raw, the object last read, touching only the
	// properties whose field differs from what raw holds. With raw nil it
	// creates a new object with uid and marker. A field absent from f is
	// empty: its property is removed.
	Encode(raw []byte, f reconcile.Fields, uid, marker string) ([]byte, error)
}

// Decoded is an object in the engine's terms.
type Decoded struct {
	UID      string // the object's UID: its identity
	Marker   string // Tandem's marker (X-TANDEM-MARKER), if Tandem created it
	Fields   reconcile.Fields
	Modified time.Time // REV / LAST-MODIFIED / DTSTAMP; zero if none
	Warnings []string
	// NotCarried are fields the object holds in a form Tandem does not
	// take (reconcile.Item.NotCarried); Encode leaves them as they are.
	NotCarried []string
	// PhotoLink is the web link a vCard's photo (not carried) is given
	// by, for the connector to fetch (photolink.go); "" if none.
	PhotoLink string
}

// MarkerProperty carries the engine's marker in objects Tandem creates, so
// an object created just before a crash is found again (the engine's
// "no duplicates" invariant).
const MarkerProperty = "X-TANDEM-MARKER"
