package syncer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/crmsync"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

// The settings of a binding are CRM-side and the same whichever provider
// holds the remote side: one typed struct per binding kind, stored as the
// binding's policy (JSON), decoded strictly, and described by a small
// schema that validation, the API's document and the UI share.

// Settings is the typed settings of one binding kind: *ContactSettings,
// *EventSettings or *TaskSettings.
type Settings interface {
	Kind() provider.Kind
	// Schedule is whether and how often the binding runs on its own.
	Schedule() (auto bool, minutes int)
}

// Binding kinds, as stored in sync_bindings.kind.
const (
	KindContacts = string(provider.Contact)
	KindEvents   = string(provider.Event)
	KindTasks    = string(provider.Task)
)

// DefaultPeriod is the period of automatic runs when none is chosen.
const DefaultPeriod = 15

// MaxPicked is how many collections of a kind one connection may sync.
const MaxPicked = 20

// Period limits, in minutes.
const (
	MinPeriod = 5
	MaxPeriod = 1440
)

// ContactSettings is the policy of a contact binding (SPEC §3).
type ContactSettings struct {
	TagID         string `json:"tag_id"`         // the personal tag whose contacts sync
	Auto          bool   `json:"auto"`           // sync on a period
	PeriodMinutes int    `json:"period_minutes"` // the period when Auto
	// GroupName names the remote collection Tandem creates (a provider
	// whose contact collection is provider.CollectionNamed); default the
	// provider's (CollectionNamer).
	GroupName string `json:"group_name"`
	// CollectionID is the address book picked from the provider's list
	// (a provider whose contact collection is provider.CollectionPicked:
	// CardDAV). Another one is unsubscribe then subscribe, as for
	// calendars.
	CollectionID string `json:"collection_id,omitempty"`
	// RemoteDelete is what a contact leaving the binding (deleted or
	// untagged in Tandem) does to an item Tandem did not create, where
	// leaving means deleting the item (an address book, not a group):
	// "keep" (the default) leaves it in the address book, "delete"
	// deletes it. Items Tandem created are always deleted.
	RemoteDelete string `json:"remote_delete,omitempty"`
}

// RemoteDeletes are the values of ContactSettings.RemoteDelete.
var RemoteDeletes = []string{"keep", "delete"}

func (*ContactSettings) Kind() provider.Kind      { return provider.Contact }
func (cs *ContactSettings) Schedule() (bool, int) { return cs.Auto, cs.PeriodMinutes }
func (*EventSettings) Kind() provider.Kind        { return provider.Event }
func (es *EventSettings) Schedule() (bool, int)   { return es.Auto, es.PeriodMinutes }
func (*TaskSettings) Kind() provider.Kind         { return provider.Task }
func (ts *TaskSettings) Schedule() (bool, int)    { return ts.Auto, ts.PeriodMinutes }

// EventSettings is the policy of a calendar binding (SPEC §4): which
// calendar, from which date, how often. A connection has a binding per
// calendar it ever synced; the current ones are what the settings show
// and run. Choosing another calendar unsubscribes the current binding (its
// links are removed, no record is deleted) and subscribes the chosen one
// afresh: a full import and export for the period, matched against what
// is there so nothing is created twice.
//
// Where the provider takes several calendars of an account at once
// (provider.KindInfo.Several), each picked one is a binding of its own
// with these settings; one is the home calendar (Export all), where new
// activities go, the others (Export own) sync only their own events.
type EventSettings struct {
	// CalendarID is a remote calendar's id, from the provider's list: the
	// binding's calendar; in what the settings show and take, the home
	// one. Empty: no calendar syncs.
	CalendarID string `json:"calendar_id"`
	// CalendarIDs are the calendars that sync, the home one among them
	// (providers that take several); empty with a CalendarID: that one
	// alone. Shown and taken by the settings, never stored.
	CalendarIDs []string `json:"calendar_ids,omitempty"`
	// Export is what the binding exports (crmsync.ExportScope): "all" for
	// the home calendar (or a lone one), "own" for the others. Set by
	// the save, not by the user.
	Export        crmsync.ExportScope `json:"export,omitempty"`
	SyncFrom      string              `json:"sync_from"`      // YYYY-MM-DD: older items are not synced
	Auto          bool                `json:"auto"`           // sync on a period
	PeriodMinutes int                 `json:"period_minutes"` // the period when Auto
	// ImportAs is the type of activity a remote event becomes: "meeting"
	// (the default) or "note" (the import mode that keeps imported events
	// as notes).
	ImportAs string `json:"import_as,omitempty"`
	// ResyncFrom (YYYY-MM-DD), set by Resync, makes the next run list the
	// calendar again from that date; it is cleared once a run succeeds.
	ResyncFrom string `json:"resync_from,omitempty"`
	Current    bool   `json:"current,omitempty"`
}

// ImportTypes are the activity types an imported event may become.
var ImportTypes = []string{"meeting", "note"}

// From is the sync-from date as an instant: midnight of the date in zone
// tz (the user's; UTC when empty or unknown). Zero when no date is set.
func (es EventSettings) From(tz string) time.Time { return dateIn(es.SyncFrom, tz) }

// TaskSettings is the policy of a to-do list binding (SPEC §4: tasks, the
// activities not shown in the calendar, whose responsible is the user):
// which list, from which date, how often. Like calendars, a connection
// has a binding per list it ever synced and the current one is what the
// settings show and run; choosing another list unsubscribes the current
// one (links removed, no record deleted) and subscribes the chosen one
// afresh, matched against what is there.
//
// As for calendars, a provider may take several lists: ListIDs are the
// lists that sync, ListID the home one, where new tasks go.
type TaskSettings struct {
	ListID        string              `json:"list_id"`            // a remote task list's id, from the provider's list
	ListIDs       []string            `json:"list_ids,omitempty"` // the lists that sync (see EventSettings.CalendarIDs)
	Export        crmsync.ExportScope `json:"export,omitempty"`   // see EventSettings.Export
	SyncFrom      string              `json:"sync_from"`          // YYYY-MM-DD: older tasks are not synced
	Auto          bool                `json:"auto"`               // sync on a period
	PeriodMinutes int                 `json:"period_minutes"`     // the period when Auto
	Current       bool                `json:"current,omitempty"`
}

// From is the sync-from date as an instant (see EventSettings.From).
func (ts TaskSettings) From(tz string) time.Time { return dateIn(ts.SyncFrom, tz) }

// dateIn is midnight of date (YYYY-MM-DD) in zone tz (UTC when empty or
// unknown); zero when date is not one.
func dateIn(date, tz string) time.Time {
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		loc = time.UTC
	}
	t, err := time.ParseInLocation(reconcile.DateLayout, date, loc)
	if err != nil {
		return time.Time{}
	}
	return t
}

// picked is the settings of a kind whose remote collection the user picks
// from the provider's list (calendars, task lists): a connection keeps a
// binding per collection it ever synced, and the current ones (picked)
// are marked.
type picked interface {
	Settings
	collection() string
	setCollection(string)
	// collections are the picked ones, the field that names them and
	// (set) their new value.
	collections() []string
	collectionsField() string
	setCollections([]string)
	export() crmsync.ExportScope
	setExport(crmsync.ExportScope)
	syncFrom() string
	isCurrent() bool
	setCurrent(bool)
	// carry copies from a binding's stored settings what a save does not
	// change (a resync under way).
	carry(from picked)
	clone() picked
}

func (es *EventSettings) collection() string              { return es.CalendarID }
func (es *EventSettings) setCollection(c string)          { es.CalendarID = c }
func (es *EventSettings) collections() []string           { return es.CalendarIDs }
func (es *EventSettings) collectionsField() string        { return "calendar_ids" }
func (es *EventSettings) setCollections(cs []string)      { es.CalendarIDs = cs }
func (es *EventSettings) export() crmsync.ExportScope     { return es.Export }
func (es *EventSettings) setExport(e crmsync.ExportScope) { es.Export = e }
func (es *EventSettings) syncFrom() string                { return es.SyncFrom }
func (es *EventSettings) isCurrent() bool                 { return es.Current }
func (es *EventSettings) setCurrent(c bool)               { es.Current = c }
func (es *EventSettings) carry(from picked)               { es.ResyncFrom = from.(*EventSettings).ResyncFrom }
func (es *EventSettings) clone() picked {
	c := *es
	c.CalendarIDs = slices.Clone(es.CalendarIDs)
	return &c
}
func (ts *TaskSettings) collection() string              { return ts.ListID }
func (ts *TaskSettings) setCollection(c string)          { ts.ListID = c }
func (ts *TaskSettings) collections() []string           { return ts.ListIDs }
func (ts *TaskSettings) collectionsField() string        { return "list_ids" }
func (ts *TaskSettings) setCollections(cs []string)      { ts.ListIDs = cs }
func (ts *TaskSettings) export() crmsync.ExportScope     { return ts.Export }
func (ts *TaskSettings) setExport(e crmsync.ExportScope) { ts.Export = e }
func (ts *TaskSettings) syncFrom() string                { return ts.SyncFrom }
func (ts *TaskSettings) isCurrent() bool                 { return ts.Current }
func (ts *TaskSettings) setCurrent(c bool)               { ts.Current = c }
func (ts *TaskSettings) carry(picked)                    {}
func (ts *TaskSettings) clone() picked                   { c := *ts; c.ListIDs = slices.Clone(ts.ListIDs); return &c }

// FieldType is the type of a settings field, as forms and the API see it.
type FieldType string

const (
	FieldBool   FieldType = "boolean"
	FieldInt    FieldType = "integer"
	FieldString FieldType = "string"
	FieldDate   FieldType = "date" // YYYY-MM-DD
	FieldEnum   FieldType = "enum"
	FieldTag    FieldType = "tag"        // the id of one of the owner's personal tags
	FieldPicked FieldType = "collection" // the id of a collection from the provider's list
	// FieldPickedMany: ids of collections from the provider's list (a
	// provider that takes several of the kind).
	FieldPickedMany FieldType = "collections"
	FieldNameFor    FieldType = "collection_name"
)

// Field is one setting of a kind.
type Field struct {
	Name     string    `json:"name"`
	Type     FieldType `json:"type"`
	Min      int       `json:"minimum,omitempty"`
	Max      int       `json:"maximum,omitempty"`
	MaxLen   int       `json:"max_length,omitempty"`
	Enum     []string  `json:"enum,omitempty"`
	MaxItems int       `json:"max_items,omitempty"`
	Required bool      `json:"required_when_enabled,omitempty"` // needed to enable the binding
}

// Schema is the settings a kind has.
type Schema []Field

var schemas = map[provider.Kind]Schema{
	provider.Contact: {
		{Name: "tag_id", Type: FieldTag, Required: true},
		{Name: "auto", Type: FieldBool},
		{Name: "period_minutes", Type: FieldInt, Min: MinPeriod, Max: MaxPeriod},
		{Name: "group_name", Type: FieldNameFor, MaxLen: 100},
		{Name: "collection_id", Type: FieldPicked, MaxLen: 1024},
		{Name: "remote_delete", Type: FieldEnum, Enum: RemoteDeletes},
	},
	provider.Event: {
		{Name: "calendar_id", Type: FieldPicked, MaxLen: 1024, Required: true},
		{Name: "calendar_ids", Type: FieldPickedMany, MaxLen: 1024, MaxItems: MaxPicked},
		{Name: "sync_from", Type: FieldDate},
		{Name: "auto", Type: FieldBool},
		{Name: "period_minutes", Type: FieldInt, Min: MinPeriod, Max: MaxPeriod},
		{Name: "import_as", Type: FieldEnum, Enum: ImportTypes},
	},
	provider.Task: {
		{Name: "list_id", Type: FieldPicked, MaxLen: 1024, Required: true},
		{Name: "list_ids", Type: FieldPickedMany, MaxLen: 1024, MaxItems: MaxPicked},
		{Name: "sync_from", Type: FieldDate},
		{Name: "auto", Type: FieldBool},
		{Name: "period_minutes", Type: FieldInt, Min: MinPeriod, Max: MaxPeriod},
	},
}

// SchemaOf returns the settings schema of a kind.
func SchemaOf(kind provider.Kind) (Schema, error) {
	s, ok := schemas[kind]
	if !ok {
		return nil, fmt.Errorf("settings of %w %q", provider.ErrUnknownKind, kind)
	}
	return s, nil
}

// Names are the schema's field names.
func (s Schema) Names() []string {
	out := make([]string, len(s))
	for i, f := range s {
		out[i] = f.Name
	}
	return out
}

// Check validates the limits the schema states (types, ranges, lengths,
// enumerations, what enabling needs) and returns the field errors as
// message keys.
func (s Schema) Check(v Settings, enabled bool) map[string]string {
	var m map[string]any
	b, _ := json.Marshal(v)
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	d.Decode(&m)
	fe := map[string]string{}
	for _, f := range s {
		val := m[f.Name]
		str, _ := val.(string)
		if f.Required && enabled && str == "" && (f.Type == FieldTag || f.Type == FieldPicked || f.Type == FieldString) {
			fe[f.Name] = "error.required"
		}
		switch f.Type {
		case FieldInt:
			n, _ := val.(json.Number).Int64()
			if (f.Min != 0 || f.Max != 0) && (n < int64(f.Min) || n > int64(f.Max)) {
				fe[f.Name] = "error.out_of_range"
			}
		case FieldEnum:
			// Empty is the field's default (omitempty in the settings).
			if str != "" && !slices.Contains(f.Enum, str) {
				fe[f.Name] = crm.ErrUnknownEnum
			}
		case FieldDate:
			if t, err := time.Parse(reconcile.DateLayout, str); str != "" && (err != nil || t.Year() < 1900 || t.Year() > 2200) {
				fe[f.Name] = crm.ErrDate
			}
		}
		if f.MaxLen > 0 && utf8.RuneCountInString(str) > f.MaxLen {
			fe[f.Name] = crm.TooLong(f.MaxLen)
		}
		if f.Type == FieldPickedMany {
			list, _ := val.([]any)
			if f.MaxItems > 0 && len(list) > f.MaxItems {
				fe[f.Name] = crm.ErrTooMany
			}
			for _, v := range list {
				if s, _ := v.(string); utf8.RuneCountInString(s) > f.MaxLen {
					fe[f.Name] = crm.TooLong(f.MaxLen)
				}
			}
		}
	}
	return fe
}

// SettingsError lists invalid settings by field (message keys).
type SettingsError struct{ Fields map[string]string }

func (e *SettingsError) Error() string { return fmt.Sprintf("invalid sync settings: %v", e.Fields) }

// newSettings returns the zero settings of a kind.
func newSettings(kind provider.Kind) (Settings, error) {
	switch kind {
	case provider.Contact:
		return &ContactSettings{}, nil
	case provider.Event:
		return &EventSettings{}, nil
	case provider.Task:
		return &TaskSettings{}, nil
	}
	return nil, fmt.Errorf("settings of %w %q", provider.ErrUnknownKind, kind)
}

// DecodeSettings reads a binding's policy strictly: a policy of another
// kind or a damaged one is an error, never settings silently left at zero.
func DecodeSettings(kind provider.Kind, policy string) (Settings, error) {
	s, err := newSettings(kind)
	if err != nil {
		return nil, err
	}
	if err := decodePolicy(policy, s); err != nil {
		return nil, err
	}
	if es, ok := s.(*EventSettings); ok {
		if es.ImportAs == "" {
			es.ImportAs = "meeting"
		}
		if !slices.Contains(ImportTypes, es.ImportAs) {
			return s, fmt.Errorf("binding policy: import_as %q unknown", es.ImportAs)
		}
	}
	if p, ok := s.(picked); ok {
		if len(p.collections()) > 0 {
			// The picked collections are each a binding: a policy
			// naming them is none the save wrote.
			return s, fmt.Errorf("binding policy: %s stored", p.collectionsField())
		}
		if p.export() == "" {
			p.setExport(crmsync.ExportAll)
		}
	}
	return s, nil
}

// PatchSettings applies a JSON object of settings (the schema's fields;
// fields left out keep their value) to a copy of cur. A field outside the
// schema, or of the wrong type, is an error.
func PatchSettings(cur Settings, patch json.RawMessage) (Settings, error) {
	schema, err := SchemaOf(cur.Kind())
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(patch, &fields); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	for name := range fields {
		if !slices.Contains(schema.Names(), name) {
			return nil, fmt.Errorf("settings: unknown field %q", name)
		}
	}
	out, _ := newSettings(cur.Kind())
	b, _ := json.Marshal(cur)
	json.Unmarshal(b, out)
	if err := json.Unmarshal(patch, out); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	return out, nil
}

// SettingsFields are the schema's fields of s as a JSON object (what the
// API shows; internal state such as the current flag is left out).
func SettingsFields(s Settings) map[string]any {
	schema, _ := SchemaOf(s.Kind())
	var m map[string]any
	b, _ := json.Marshal(s)
	json.Unmarshal(b, &m)
	out := map[string]any{}
	for _, f := range schema {
		out[f.Name] = m[f.Name]
		switch {
		case out[f.Name] != nil:
		case f.Type == FieldPickedMany:
			out[f.Name] = []any{}
		default:
			out[f.Name] = ""
		}
	}
	return out
}

// decodePolicy reads a policy strictly into v.
func decodePolicy(policy string, v any) error {
	if strings.TrimSpace(policy) == "" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(policy))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("binding policy: %w", err)
	}
	return nil
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
