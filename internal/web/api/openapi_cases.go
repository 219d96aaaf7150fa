package api

import (
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

// The OpenAPI entries of cases (cases.go).

func casePaths(add func(string, operation)) {
	statuses := array(enum(crm.Strings(crm.CaseStatuses), ""), "")
	record{tag: "cases", noun: "case", plural: "cases", schema: "Case",
		filters: []obj{
			query("q", "Case-insensitive substring of the number (CS-000123) or the subject.", str("")),
			with(query("status", "Only cases in one of these statuses; repeat the parameter for several "+
				"(status=new&status=waiting). An unknown status is 400.", statuses), obj{"explode": true}),
			query("priority", "Only cases of this priority.", enum(crm.Strings(crm.CasePriorities), "")),
			query("owner_id", "Only cases owned by this user.", str("")),
			query("contact_id", "Only cases about this contact.", str("")),
			query("account_id", "Only cases about this account.", str("")),
			query("source_chat_id", "Only cases created from this chat.", str("")),
			query("tag_id", "Only records carrying this tag.", str("")),
			query("sort", "Order: newest (by number, the default), oldest, updated (last changed first) or "+
				"subject (alphabetical).", enum(caseSorts(), "")),
		},
		create: creation("CaseInput", "A case needs a subject. Without an account_id, a case about a contact is put "+
			"on the contact's account (when the caller may see it). status defaults to new, priority to normal.", "subject"),
		patchNote: "number, created_by and source_chat_id never change; closed_at follows the status.",
	}.operations(add)
}

func caseSorts() []string {
	out := make([]string, len(store.CaseSorts))
	for i, s := range store.CaseSorts {
		out[i] = string(s)
	}
	return out
}

func caseSchemas() obj {
	tags := array(ref("TagRef"), "The record's tags the caller may see.")
	tagsIn := array(ref("TagRefInput"), "Replaces the record's tags that the caller can see (other users' personal "+
		"tags stay). Each is a tag id or an object with an id.")
	accessIn := array(ref("Grant"), "Replaces the roles that may read or edit the record.")
	accessIn["maxItems"] = crm.MaxItems
	return obj{
		"Case": output("A customer's request worked on to its resolution.", with(caseFields(), obj{
			"id":         str(""),
			"number":     str(`The case's reference, e.g. "CS-000123": numbers are given in order of creation and never reused.`),
			"status":     enum(crm.Strings(crm.CaseStatuses), ""),
			"contact_id": nullable(str("The contact the case is about.")),
			"contact_name": str("Name of that contact; absent without one, or when the caller may not see it " +
				"(the id is still given)."),
			"account_id":     nullable(str("The account the case is about.")),
			"account_name":   str("Name of that account; absent like contact_name."),
			"source_chat_id": nullable(str("The chat the case was created from; null for a case made by hand.")),
			"created_by":     str("The user who created the case."),
			"closed_at": nullable(dateTime("When the case was resolved or closed; null while open. Set when the " +
				"status becomes resolved or closed, kept while it stays so, cleared when the case is reopened.")),
			"tags":       tags,
			"access":     array(ref("Grant"), "Roles that may read or edit the record besides its owner."),
			"created_at": dateTime(""),
			"updated_at": dateTime(""),
			"version":    integer("Incremented by every change; sent quoted as the ETag."),
		}), "contact_name", "account_name"),
		"CaseInput": input("Fields of a case.", with(caseFields(), obj{
			"status":     described(enum(crm.Strings(crm.CaseStatuses), ""), "Defaults to new."),
			"contact_id": str(`The contact the case is about; "" clears it. It must be visible to the caller (a link the case already has may stay).`),
			"account_id": str(`The account the case is about; "" clears it. Visible to the caller, like contact_id.`),
			"source_chat_id": text(crm.MaxLen(crm.KindCase, "source_chat_id"), "The chat the case comes from; "+
				"only on create (a different value in a PATCH is 400, code read_only)."),
			"tags":   tagsIn,
			"access": accessIn,
		})),
	}
}

// caseFields are the properties a case shows and takes alike.
func caseFields() obj {
	return obj{
		"subject":     text(crm.MaxLen(crm.KindCase, "subject"), ""),
		"description": text(crm.MaxLen(crm.KindCase, "description"), ""),
		"priority":    described(enum(crm.Strings(crm.CasePriorities), ""), "Defaults to normal."),
		"owner_id":    str("The user responsible for the case; the creator by default."),
	}
}
