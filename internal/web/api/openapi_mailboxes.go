package api

import (
	"net/http"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/mail/wire"
	"github.com/tandem-crm/tandem/internal/store"
)

// The OpenAPI entries of the caller's mailboxes (mailboxes.go).

func mailboxPaths(add func(string, operation)) {
	list := func(desc, schema string) obj { return jsonResponse(desc, pagedList(schema, false)) }
	id := idParam("mailbox")
	unprocessable := obj{"description": "The mailbox cannot be added as asked: code mail_pick_provider (the address's " +
		"domain is unknown: choices lists the providers to pick, send provider_id again), mail_verify_failed (a server " +
		"refused: protocol and kind say which and how, detail says it in the caller's language), " +
		"mail_oauth_consent (the provider signs in through its issuer's consent, OAuth 2.0: consent_url is Tandem's " +
		"add-mailbox page for the address, which the user opens signed in to press the connect button; the issuer's " +
		"consent asks for the mail scope then, and Tandem verifies IMAP and SMTP with XOAUTH2 when the issuer sends the " +
		"browser back), mail_oauth_mailbox (the provider signs in with OAuth 2.0 through an issuer Tandem cannot run " +
		"yet, such as Microsoft) or mail_transport_later (Exchange / Microsoft 365 mailboxes cannot be connected yet).",
		"content": obj{"application/problem+json": obj{"schema": ref("MailboxProblem")}}}
	add("GET /api/v1/mailboxes", op("mailboxes", "listMailboxes", "List the caller's mailboxes",
		"The mailboxes the caller owns, then the shared mailboxes they hold a right on (access says which), "+
			"by address. Passwords are never sent.").
		reply(http.StatusOK, list("The mailboxes.", "Mailbox")).
		fails(http.StatusServiceUnavailable))
	add("POST /api/v1/mailboxes", op("mailboxes", "createMailbox", "Add a mailbox",
		"Detects the provider from the address's domain (or takes provider_id, and then learns the domain), logs in to "+
			"the provider's IMAP and SMTP servers with the password to verify it, and creates the mailbox with the "+
			"defaults: the first load reaches back a month, new mail is loaded automatically, every folder, sending "+
			"on; the caller's first mailbox becomes their default sender. login is needed only by providers whose "+
			"login format is manual. shared needs the CanConnectSharedMailbox operation (else 400, field shared). "+
			"The caller's own address twice is 400 (field address). password is required (400, field password) "+
			"unless the provider signs in with OAuth 2.0; such a mailbox is added through the provider's consent "+
			"(422 mail_oauth_consent).").
		body(obj{"allOf": []obj{ref("MailboxCreate")}, "required": []string{"address"}}).
		reply(http.StatusCreated, jsonResponse("The new mailbox.", ref("Mailbox"), "Location")).
		reply(http.StatusUnprocessableEntity, unprocessable).
		fails(http.StatusBadRequest, http.StatusServiceUnavailable))
	add("GET /api/v1/mailboxes/{id}", op("mailboxes", "getMailbox", "Get a mailbox",
		"One of the caller's mailboxes, or a shared one they hold a right on; any other is 404.").
		params(id).
		reply(http.StatusOK, jsonResponse("The mailbox.", ref("Mailbox"))).
		fails(http.StatusNotFound, http.StatusServiceUnavailable))
	add("PATCH /api/v1/mailboxes/{id}", op("mailboxes", "patchMailbox", "Change a mailbox's settings",
		"Changes the fields present in the body. For the owner, or a holder of the configure right who also has "+
			"CanManageSharedMailboxSync (others 403). The signature is sanitized HTML (scripts, event handlers and "+
			"remote content other than images are dropped). all_folders false needs folders (a selected parent does "+
			"not include its children). Changing shared needs the owner with CanConnectSharedMailbox (else 400, field "+
			"shared). default_sender is the owner's choice; it needs send_enabled.").
		params(id).
		body(ref("MailboxSettings")).
		reply(http.StatusOK, jsonResponse("The mailbox.", ref("Mailbox"))).
		fails(http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable))
	add("DELETE /api/v1/mailboxes/{id}", op("mailboxes", "deleteMailbox", "Remove a mailbox",
		"Its owner only (others with a right 403). Letters stay on records' timelines only while another mailbox "+
			"holds them.").
		params(id).
		noContent("Removed.").
		fails(http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable))
	add("GET /api/v1/mailboxes/{id}/grants", op("mailboxes", "getMailboxGrants", "List a shared mailbox's grants",
		"Users and roles with their rights: read (its letters on records' timelines), send (From list and panel), "+
			"configure. For those who may change the mailbox's settings (others 403).").
		params(id).
		reply(http.StatusOK, list("The grants, roles first.", "MailboxGrant")).
		fails(http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable))
	add("PUT /api/v1/mailboxes/{id}/grants", op("mailboxes", "putMailboxGrants", "Replace a shared mailbox's grants",
		"For the owner holding CanConnectSharedMailbox, or a holder of the configure right with "+
			"CanManageSharedMailboxSync (others 403). Only a shared mailbox has grants (else 400, field shared); "+
			"an entry without any right is dropped; an unknown user or role is 400 (field grantee_id).").
		params(id).
		body(ref("MailboxGrants")).
		reply(http.StatusOK, list("The grants now.", "MailboxGrant")).
		fails(http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable))
	add("GET /api/v1/mailboxes/{id}/folders", op("mailboxes", "listMailboxFolders", "A mailbox's folder tree",
		"The folders as the last load read them from the server, nested under their parents; empty before the "+
			"first load. selected says whether a folder is loaded. For those who may change the settings (others 403).").
		params(id).
		reply(http.StatusOK, list("The top-level folders.", "MailFolder")).
		fails(http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable))
	add("POST /api/v1/mailboxes/{id}/load", op("mailboxes", "loadMailbox", "Load a mailbox now",
		"Enqueues a load of new letters; a load already waiting takes this one's place (the same job id). For those "+
			"who may change the settings (others 403); 503 in a process without a job queue.").
		params(id).
		reply(http.StatusAccepted, jsonResponse("The load job.", ref("MailboxLoadJob"))).
		fails(http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable))
}

func mailboxSettingsFields() obj {
	return obj{
		"first_load":  described(enum(mail.Strings(mail.Periods), ""), "How far back the first load reaches."),
		"auto_load":   boolean("Load new letters every MailboxSyncInterval minutes."),
		"all_folders": boolean("Load every folder; when false only folders."),
		"folders": array(str(""), "The folders loaded when all_folders is false, by full name; a selected parent does "+
			"not include its children."),
		"send_enabled":      boolean("Letters may be sent from this mailbox."),
		"default_sender":    boolean("The owner's default From mailbox; one per owner."),
		"alias":             text(crm.MaxShort, "The display name put on sent letters."),
		"signature":         text(mail.MaxSignature, "HTML, with images as data: URIs; sanitized on save."),
		"signature_enabled": boolean("Add the signature to new letters."),
		"shared":            boolean("A shared mailbox: its owner grants others rights on it."),
	}
}

func mailboxSchemas() obj {
	out := mailboxSettingsFields()
	out["id"], out["address"], out["provider_id"] = str(""), str("Lower-case."), str("")
	out["login"] = str("The user name for IMAP and SMTP.")
	out["owner_id"] = str("")
	out["status"] = enum([]string{string(store.ConnectionActive), string(store.ConnectionDegraded),
		string(store.ConnectionNeedsReauth), string(store.ConnectionFailed)}, "The mailbox's health after its last load.")
	out["status_reason"] = str("Why it is not active, as the server said.")
	out["last_load_at"] = nullable(dateTime("null before the first load."))
	out["access"] = output("What the caller may do.", obj{
		"owner": boolean(""), "read": boolean(""), "send": boolean(""), "configure": boolean(""),
	})
	out["created_at"], out["updated_at"] = dateTime(""), dateTime("")
	folder := output("A folder of a mailbox.", obj{
		"name":       str("The full name, with the server's separator."),
		"parent":     str(`"" for a top-level folder.`),
		"special":    str(`The SPECIAL-USE attribute (\Sent, \Trash, …), "" if none.`),
		"selectable": boolean("false for a folder that only holds others."),
		"selected":   boolean("Loaded (every folder is when all_folders is true)."),
		"children":   array(ref("MailFolder"), ""),
	})
	grant := obj{
		"grantee_kind": enum([]string{"user", "role"}, ""),
		"grantee_id":   str(""),
		"read":         boolean("Its letters on records' timelines (not in the panel)."),
		"send":         boolean("In the From list and the panel."),
		"configure":    boolean("Change its settings and grants (with CanManageSharedMailboxSync)."),
	}
	grantOut := obj{"grantee_name": str("")}
	for k, v := range grant {
		grantOut[k] = v
	}
	return obj{
		"Mailbox":         output("A mailbox; its password is never sent.", out),
		"MailboxSettings": input("Settings of a mailbox.", mailboxSettingsFields()),
		"MailboxCreate": input("A mailbox to add.", obj{
			"address":     text(320, "The email address."),
			"provider_id": str("The provider picked for an address of an unknown domain; empty to detect it."),
			"login":       text(320, "The login, for providers whose login format is manual."),
			"password":    str("The password or app password; stored encrypted, never sent back."),
			"shared":      boolean("Add it as a shared mailbox (CanConnectSharedMailbox)."),
		}),
		"MailboxGrant": output("A user's or role's rights on a shared mailbox.", grantOut),
		"MailboxGrants": input("The grants of a shared mailbox.", obj{
			"grants": described(obj{"type": "array", "maxItems": maxMailboxGrants,
				"items": described(obj{"type": "object", "properties": grant, "additionalProperties": false,
					"required": []string{"grantee_kind", "grantee_id"}}, "")}, "Replaces every grant."),
		}),
		"MailFolder":     folder,
		"MailboxLoadJob": output("A load job.", obj{"job_id": integer("Follow it at /api/v1/jobs/{id} (administrators).")}),
		"MailboxProblem": output("A problem adding a mailbox (422).", obj{
			"type": str(""), "title": str(""), "status": obj{"type": "integer"},
			"detail": str("What went wrong, in the caller's language: for mail_verify_failed which server and how."),
			"code": enum([]string{"mail_pick_provider", "mail_verify_failed", "mail_oauth_consent", "mail_oauth_mailbox",
				"mail_transport_later"}, ""),
			"domain": str("mail_pick_provider: the address's domain, as people write it."),
			"choices": array(ref("MailProviderChoice"),
				"mail_pick_provider: the providers to pick from."),
			"protocol": described(enum([]string{string(mail.IMAP), string(mail.SMTP)}, ""), "mail_verify_failed: which server refused."),
			"kind": described(enum([]string{string(wire.KindAuth), string(wire.KindUnreachable), string(wire.KindTLS),
				string(wire.KindProtocol)}, ""), "mail_verify_failed: auth (wrong login or password), unreachable, tls or protocol."),
			"consent_url": obj{"type": "string", "format": "uri", "description": "mail_oauth_consent: the page where the " +
				"signed-in user gives the provider's consent (Tandem's add-mailbox form for the address)."},
		}, "domain", "choices", "protocol", "kind", "consent_url"),
	}
}
