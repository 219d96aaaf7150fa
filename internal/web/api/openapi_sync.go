package api

import (
	"strings"

	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/syncer"
)

// settingDescs describe the binding settings fields in the document, by
// name; a field of any kind's schema without one is described by its type.
var settingDescs = map[string]string{
	"tag_id":     "The personal tag whose contacts sync.",
	"group_name": "The name of the remote contact group Tandem creates (providers that name it).",
	"calendar_id": "The remote calendar, an id from GET /api/v1/connections/{id}/sync/event/collections; where several " +
		"sync, the home one, where new activities go. Empty: no calendar syncs.",
	"calendar_ids": "The calendars that sync, the home one (calendar_id) among them; the others bring their events " +
		"and take back changes of those, and export nothing else. Only for providers that take several " +
		"(collection_mode picked, several true); empty with a calendar_id: that one alone. A calendar left out " +
		"is unsubscribed (links removed, no record deleted).",
	"list_id": "The remote task list, an id from GET /api/v1/connections/{id}/sync/task/collections; where several " +
		"sync, the home one, where new tasks go.",
	"list_ids":       "The task lists that sync, the home one (list_id) among them (see calendar_ids).",
	"sync_from":      "YYYY-MM-DD: older items are not synced; empty when saved means today.",
	"auto":           "Run on a period.",
	"period_minutes": "Minutes between automatic runs.",
	"import_as":      "The type a remote event becomes (notes: the import mode that keeps events as notes).",
}

// bindingSettingsName is the document's schema of a kind's settings.
func bindingSettingsName(k provider.Kind) string {
	return strings.ToUpper(string(k[:1])) + string(k[1:]) + "SyncSettings"
}

// bindingSettingsSchemas are the settings of every binding kind, built
// from the schema syncer validates them with, so the two cannot drift.
func bindingSettingsSchemas() obj {
	out := obj{}
	for _, k := range provider.Kinds {
		schema, err := syncer.SchemaOf(k)
		if err != nil {
			panic(err) // a kind without settings: caught by every test of the document
		}
		props := obj{}
		for _, f := range schema {
			var p obj
			switch f.Type {
			case syncer.FieldBool:
				p = obj{"type": "boolean"}
			case syncer.FieldInt:
				p = obj{"type": "integer", "minimum": f.Min, "maximum": f.Max}
			case syncer.FieldDate:
				p = obj{"type": "string", "format": "date"}
			case syncer.FieldEnum:
				p = enum(f.Enum, "")
			case syncer.FieldPickedMany:
				p = obj{"type": "array", "items": obj{"type": "string", "maxLength": f.MaxLen}, "maxItems": f.MaxItems}
			default:
				p = obj{"type": "string"}
				if f.MaxLen > 0 {
					p["maxLength"] = f.MaxLen
				}
			}
			desc := settingDescs[f.Name]
			if f.Required {
				desc = strings.TrimSpace(desc + " Required to enable the binding.")
			}
			props[f.Name] = described(p, desc)
		}
		out[bindingSettingsName(k)] = output("The settings of a "+string(k)+" binding (the settings of GET and PUT "+
			"/api/v1/connections/{id}/sync/"+string(k)+"; a PUT may send any of them).", props)
	}
	return out
}

// bindingSettingsOneOf is the settings property of BindingSync: one kind's.
func bindingSettingsOneOf() obj {
	var refs []obj
	for _, k := range provider.Kinds {
		refs = append(refs, ref(bindingSettingsName(k)))
	}
	return obj{"oneOf": refs, "description": "The kind's settings: the fields of schema."}
}
