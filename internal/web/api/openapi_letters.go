package api

import (
	"net/http"
	"strconv"

	"github.com/tandem-crm/tandem/internal/mail"
)

// The OpenAPI entries of letters (letters.go).

const lettersVisibility = "Only letters of mailboxes the caller owns or holds a right on (read, send or configure) are listed."

func letterPaths(add func(string, operation)) {
	list := func(desc string) obj { return jsonResponse(desc, pagedList("LetterSummary", true)) }
	paging := []obj{paramRef("limit"), paramRef("cursor")}
	letterID := idParam("letter")
	download := func(desc, ct string) obj {
		return obj{"description": desc + " Sent as a download (Content-Disposition attachment with the file name " +
			"encoded per RFC 6266, X-Content-Type-Options nosniff).",
			"content": obj{ct: obj{"schema": obj{"type": "string", "format": "binary"}}}}
	}
	add("GET /api/v1/contacts/{id}/letters", op("letters", "contactLetters", "Letters of a contact",
		"Letters naming any address of the contact, newest first (by arrival). "+lettersVisibility+
			" A contact the caller may not read is 404.").
		params(append([]obj{idParam("contact")}, paging...)...).
		reply(http.StatusOK, list("Letters.")).
		fails(http.StatusBadRequest, http.StatusNotFound))
	add("GET /api/v1/accounts/{id}/letters", op("letters", "accountLetters", "Letters of an account",
		"Letters naming the account's address or an address of one of its contacts, newest first. "+lettersVisibility+
			" An account the caller may not read is 404.").
		params(append([]obj{idParam("account")}, paging...)...).
		reply(http.StatusOK, list("Letters.")).
		fails(http.StatusBadRequest, http.StatusNotFound))
	add("GET /api/v1/letters", op("letters", "listLetters", "The communication panel",
		"The caller's letters across their own mailboxes and the shared ones they may send from (a read right alone "+
			"shows a mailbox's letters on records' timelines, not here), newest first.").
		params(append([]obj{query("mailbox", "Only the letters of this mailbox.", str(""))}, paging...)...).
		reply(http.StatusOK, list("Letters.")).
		fails(http.StatusBadRequest))
	add("GET /api/v1/letters/unread", op("letters", "unreadLetters", "Unread letters of the panel",
		"How many letters of each panel mailbox are not seen yet.").
		reply(http.StatusOK, jsonResponse("The counts.", ref("UnreadLetters"))))
	add("POST /api/v1/letters", op("letters", "sendLetter", "Send a letter",
		"Sends from mailbox_id, one of the caller's senders (their mailboxes with sending on, shared ones with the send "+
			"right), with the mailbox's alias and signature, over its SMTP server, and keeps a copy in its Sent folder. "+
			"Each of to, cc and bcc entries may hold several addresses separated by commas. The body is sanitized HTML. "+
			"Attachments are base64, at most "+mbText(mail.MaxOutgoing)+" in all. reply_to is the id of the letter answered: "+
			"In-Reply-To and References follow from it. Problems are 400 by field; recipients the server refuses are 400 "+
			"(field to); a server that does not take the letter is 502 and nothing is sent.").
		body(obj{"allOf": []obj{ref("LetterSend")}, "required": []string{"mailbox_id"}}).
		reply(http.StatusCreated, jsonResponse("Sent.", ref("LetterSent"))).
		reply(http.StatusBadGateway, problemResponse("The mail server did not take the letter.")).
		fails(http.StatusBadRequest, http.StatusServiceUnavailable))
	add("GET /api/v1/letters/{id}", op("letters", "getLetter", "Get a letter",
		"A letter the caller may see (404 otherwise) with its addresses, attachments and body: text, and html "+
			"sanitized (no scripts, styles or event handlers; inline cid: images point at /letters/{id}/attachments/{n}).").
		params(letterID).
		reply(http.StatusOK, jsonResponse("The letter.", ref("Letter"))).
		fails(http.StatusNotFound, http.StatusServiceUnavailable))
	add("GET /api/v1/letters/{id}/attachments/{n}", op("letters", "getLetterAttachment", "Download an attachment",
		"Attachment n (from 0, in the order of the letter's attachments).").
		params(letterID, pathParam("n", "The attachment's position, from 0.", obj{"type": "integer", "minimum": 0})).
		reply(http.StatusOK, download("The attachment's bytes, with its media type.", "application/octet-stream")).
		fails(http.StatusNotFound, http.StatusServiceUnavailable))
	add("GET /api/v1/letters/{id}/raw", op("letters", "getLetterRaw", "Download the original letter",
		"The letter exactly as it was received.").
		params(letterID).
		reply(http.StatusOK, download("The raw message.", "message/rfc822")).
		fails(http.StatusNotFound))
}

func mbText(n int) string { return strconv.Itoa(n>>20) + " MB" }

func letterSchemas() obj {
	summary := obj{
		"id": str(""), "thread_id": str("Letters answering each other share it."),
		"subject": str(""), "snippet": str("The start of the text."),
		"from_name": str(""), "from_email": str("Lower-case."),
		"sent_at":         nullable(dateTime("The Date header; null when unreadable.")),
		"received_at":     dateTime("When the server received it."),
		"has_attachments": boolean("Whether it has attachments other than inline images."),
		"seen":            boolean("Seen in every mailbox of the caller holding it."),
		"warnings":        array(str(""), "Problems met reading the letter; the original is kept as received."),
	}
	letter := obj{}
	for k, v := range summary {
		letter[k] = v
	}
	letter["message_id"], letter["in_reply_to"] = str(""), str("")
	letter["size"] = integer("Bytes of the raw letter.")
	letter["addresses"] = array(ref("LetterAddress"), "")
	letter["attachments"] = array(ref("LetterAttachment"), "")
	letter["mailbox_ids"] = array(str(""), "The caller's mailboxes holding the letter.")
	letter["text"] = str("The plain text body.")
	letter["html"] = str("The HTML body, sanitized; \"\" when there is none.")
	letter["raw_url"] = str("Where to download the original.")
	return obj{
		"LetterSummary": output("A letter in a list.", summary),
		"Letter":        output("A letter.", letter),
		"LetterAddress": output("An address of a letter.", obj{
			"role":  enum([]string{"from", "sender", "reply_to", "to", "cc", "bcc"}, ""),
			"email": str(""), "name": str(""),
		}),
		"LetterAttachment": output("An attachment of a letter.", obj{
			"filename": str(""), "content_type": str(""), "content_id": str(""),
			"inline": boolean("Shown in the body (an image referenced by cid:)."),
			"size":   integer("Bytes."), "url": str("Where to download it."),
		}),
		"UnreadLetters": output("Unread letters of the panel.", obj{
			"mailboxes": obj{"type": "object", "additionalProperties": obj{"type": "integer"}, "description": "By mailbox id."},
			"total":     integer(""),
		}),
		"LetterSend": input("A letter to send.", obj{
			"mailbox_id": str("The sending mailbox."),
			"to":         array(str(""), "Addresses; an entry may hold several separated by commas."),
			"cc":         array(str(""), ""), "bcc": array(str(""), ""),
			"subject": str(""), "html": str("The body; sanitized before sending."),
			"reply_to":    str("The id of the letter answered."),
			"attachments": array(ref("LetterFile"), ""),
		}),
		"LetterFile": input("A file to attach.", obj{
			"filename": str(""), "content_type": str(""), "data": str("The bytes, base64."),
		}),
		"LetterSent": output("A sent letter.", obj{
			"id":   str("The stored copy; \"\" until the copy in the Sent folder is loaded."),
			"sent": boolean("Always true."),
		}),
	}
}
