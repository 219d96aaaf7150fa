package api

import (
	"net/http"

	"github.com/tandem-crm/tandem/internal/mail"
)

// The OpenAPI entries of the mail provider directory (mail.go).

func mailPaths(add func(string, operation)) {
	list := func(desc, schema string) obj { return jsonResponse(desc, pagedList(schema, false)) }
	providerID := idParam("mail provider")
	add("GET /api/v1/mail/providers", op("mail", "listMailProviders", "List mail providers",
		"Every provider of the directory by name, with how many mailboxes use it and how many domains map to it. "+
			"Client secrets are never sent; client_secret_mask shows the last characters.").
		adminOnly().
		reply(http.StatusOK, list("The providers.", "MailProvider")))
	add("POST /api/v1/mail/providers", op("mail", "createMailProvider", "Create a mail provider",
		"Type imap needs imap_host and smtp_host; ports default by security (IMAP 993 over tls, else 143; SMTP 465 "+
			"over tls, else 587). Type exchange needs exchange_url and exchange_load or exchange_send. auth oauth2 needs "+
			"client_id and client_secret. Problems are 400 with one entry per field.").
		adminOnly().
		body(creation("MailProviderInput", "A provider needs a name and a type.", "name", "type")).
		reply(http.StatusCreated, jsonResponse("The new provider.", ref("MailProvider"), "Location")).
		fails(http.StatusBadRequest))
	add("POST /api/v1/mail/providers/from-preset", op("mail", "createMailProviderFromPreset",
		"Create a mail provider from a preset",
		"Adds a shipped preset (GET /api/v1/mail/presets) in one call, with the preset's domains that no other provider "+
			"has. An OAuth 2.0 provider without client_id and client_secret takes the client id and secret of its "+
			"company's OAuth app from the system settings when they are set; else client_id and client_secret are 400. A name in use is 400 (field name, code duplicate).").
		adminOnly().
		body(obj{"allOf": []obj{ref("MailPresetCreate")}, "required": []string{"preset"}}).
		reply(http.StatusCreated, jsonResponse("The new provider.", ref("MailProvider"), "Location")).
		fails(http.StatusBadRequest))
	add("GET /api/v1/mail/providers/{id}", op("mail", "getMailProvider", "Get a mail provider", "").
		adminOnly().
		params(providerID).
		reply(http.StatusOK, jsonResponse("The provider.", ref("MailProvider"))).
		fails(http.StatusNotFound))
	add("PATCH /api/v1/mail/providers/{id}", op("mail", "patchMailProvider", "Update a mail provider",
		"Changes the fields present in the body and checks the whole provider again. An absent or empty "+
			"client_secret keeps the stored one; switching auth to basic drops client_id and client_secret.").
		adminOnly().
		params(providerID).
		body(ref("MailProviderInput")).
		reply(http.StatusOK, jsonResponse("The updated provider.", ref("MailProvider"))).
		fails(http.StatusBadRequest, http.StatusNotFound))
	add("DELETE /api/v1/mail/providers/{id}", op("mail", "deleteMailProvider", "Delete a mail provider",
		"Removes the provider and its domains. A provider that mailboxes use cannot be deleted: 409 with code "+
			"mail_provider_in_use, and nothing changes.").
		adminOnly().
		params(providerID).
		noContent("Deleted.").
		fails(http.StatusNotFound, http.StatusConflict))
	add("GET /api/v1/mail/presets", op("mail", "listMailPresets", "List mail provider presets",
		"The presets Tandem ships (Gmail, Outlook / Microsoft 365, Microsoft 365 Exchange, Yahoo, AOL, Zoho), "+
			"with a note in the caller's language.").
		adminOnly().
		reply(http.StatusOK, list("The presets.", "MailPreset")))
	add("GET /api/v1/mail/domains", op("mail", "listMailDomains", "List provider domains",
		"Address domains mapped to providers, by domain.").
		adminOnly().
		params(query("provider_id", "Only the domains of this provider.", str(""))).
		reply(http.StatusOK, list("The domains.", "MailDomain")))
	add("POST /api/v1/mail/domains", op("mail", "createMailDomain", "Map a domain to a provider",
		"The domain is stored lower-case, international names as IDNA A-labels. A domain already mapped is 400 "+
			"(field domain, code duplicate); an unknown provider 400 (field provider_id).").
		adminOnly().
		body(obj{"allOf": []obj{ref("MailDomainInput")}, "required": []string{"domain", "provider_id"}}).
		reply(http.StatusCreated, jsonResponse("The mapping.", ref("MailDomain"), "Location")).
		fails(http.StatusBadRequest))
	add("DELETE /api/v1/mail/domains/{domain}", op("mail", "deleteMailDomain", "Remove a provider domain", "").
		adminOnly().
		params(pathParam("domain", "The domain, in either form (example.com, почта.рф or xn--80a1acny.xn--p1ai).", str(""))).
		noContent("Removed.").
		fails(http.StatusNotFound))
	add("GET /api/v1/mail/provider-choices", op("mail", "listMailProviderChoices", "List mail providers to pick",
		"The providers a user adding a mailbox picks from, by name: what each will ask for, nothing an "+
			"administrator keeps. For every signed-in user.").
		reply(http.StatusOK, list("The providers.", "MailProviderChoice")))
	add("GET /api/v1/mail/detect", op("mail", "detectMailProvider", "Detect the provider of an address",
		"The provider the directory maps the address's domain to; provider is null when none is (the user then "+
			"picks one, and adding the mailbox remembers the domain). For every signed-in user.").
		params(obj{"name": "address", "in": "query", "required": true, "description": "An email address.", "schema": str("")}).
		reply(http.StatusOK, jsonResponse("The detection.", ref("MailDetection"))).
		fails(http.StatusBadRequest))
}

// mailProviderFields are the properties a provider shows and takes alike.
func mailProviderFields() obj {
	security := func(p mail.Protocol) obj {
		return described(enum(mail.Strings(mail.Securities), ""), "tls (SSL/TLS), starttls or none; defaults to tls.")
	}
	port := func(p mail.Protocol) obj {
		return obj{"type": "integer", "minimum": 1, "maximum": 65535, "description": "Defaults by security: " +
			map[mail.Protocol]string{mail.IMAP: "993 for tls, else 143.", mail.SMTP: "465 for tls, else 587."}[p]}
	}
	return obj{
		"name":          text(mail.MaxName, "Unique, regardless of case."),
		"type":          enum(mail.Strings(mail.ProviderTypes), "imap (IMAP/SMTP) or exchange (Exchange / Microsoft 365)."),
		"imap_host":     text(mail.MaxHost, "IMAP server (type imap); stored lower-case, international names as IDNA A-labels."),
		"imap_port":     port(mail.IMAP),
		"imap_security": security(mail.IMAP),
		"smtp_host":     text(mail.MaxHost, "SMTP server (type imap)."),
		"smtp_port":     port(mail.SMTP),
		"smtp_security": security(mail.SMTP),
		"login_format": described(enum(mail.Strings(mail.LoginFormats), ""),
			"What a mailbox signs in with: email (the full address, the default), local_part (the part before @) or manual (entered by hand)."),
		"auth":          described(enum(mail.Strings(mail.AuthMethods), ""), "basic (user and password; the default) or oauth2."),
		"client_id":     text(mail.MaxClientID, "OAuth 2.0 client id (auth oauth2)."),
		"exchange_url":  text(mail.MaxURL, "Exchange service address, http or https (type exchange)."),
		"exchange_load": boolean("Load email (type exchange); this or exchange_send is needed."),
		"exchange_send": boolean("Send email (type exchange)."),
	}
}

func mailSchemas() obj {
	out := mailProviderFields()
	out["id"], out["preset"] = str(""), str(`The preset it was made from; "" when entered by hand.`)
	out["client_secret_set"] = boolean("Whether a client secret is stored.")
	out["client_secret_mask"] = str(`The stored secret masked ("••••••42"); "" when none.`)
	out["mailbox_count"] = integer("Mailboxes using the provider; while above 0 it cannot be deleted.")
	out["domain_count"] = integer("Domains mapped to the provider.")
	out["created_at"], out["updated_at"] = dateTime(""), dateTime("")
	in := mailProviderFields()
	in["client_secret"] = text(mail.MaxSecret, "OAuth 2.0 client secret (auth oauth2); stored encrypted, never sent back. "+
		"Empty or absent on an update keeps the stored one.")
	choice := obj{
		"id": str(""), "name": str(""),
		"type":         enum(mail.Strings(mail.ProviderTypes), ""),
		"login_format": enum(mail.Strings(mail.LoginFormats), ""),
		"auth":         enum(mail.Strings(mail.AuthMethods), ""),
	}
	preset := mailProviderFields()
	delete(preset, "client_id")
	preset["code"] = enum(mail.PresetCodes(), "")
	preset["note"] = str("What to prepare, in the caller's language (app passwords, OAuth app).")
	preset["auth_methods"] = array(enum(mail.Strings(mail.AuthMethods), ""), "The methods the provider accepts.")
	preset["domains"] = array(str(""), "Domains mapped to the provider when it is created.")
	return obj{
		"MailProvider":      output("A provider of the mail directory.", out),
		"MailProviderInput": input("Fields of a mail provider.", in),
		"MailPresetCreate": input("A preset to create a provider from, with optional changes.", obj{
			"preset":        enum(mail.PresetCodes(), ""),
			"name":          text(mail.MaxName, "Defaults to the preset's name."),
			"auth":          described(enum(mail.Strings(mail.AuthMethods), ""), "Defaults to the preset's; one of its auth_methods."),
			"client_id":     text(mail.MaxClientID, ""),
			"client_secret": text(mail.MaxSecret, ""),
		}),
		"MailPreset":         output("A shipped provider preset.", preset),
		"MailProviderChoice": output("A provider as a user adding a mailbox sees it.", choice),
		"MailDetection": output("The provider of an address's domain.", obj{
			"domain":   str("The address's domain, as people write it."),
			"provider": described(obj{"oneOf": []obj{ref("MailProviderChoice"), {"type": "null"}}}, "null when no provider is known."),
		}),
		"MailDomain": output("An address domain mapped to a provider.", obj{
			"domain":        str("Lower-case ASCII (IDNA A-labels)."),
			"display":       str("As people write it (U-labels)."),
			"provider_id":   str(""),
			"provider_name": str(""),
			"created_at":    dateTime(""),
		}),
		"MailDomainInput": input("A domain to map.", obj{
			"domain":      str("A domain such as example.com; a leading @ is dropped."),
			"provider_id": str(""),
		}),
	}
}
