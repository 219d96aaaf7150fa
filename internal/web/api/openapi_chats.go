package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

// The OpenAPI entries of chats (chats.go).

// managersNote starts the description of every chat-manager operation.
const managersNote = "**Chat managers only**: the caller needs the " + access.OpManageChats + " operation, else 403."

// managersOnly marks an operation for holders of CanManageChats.
func (o operation) managersOnly() operation {
	d, _ := o["description"].(string)
	o["description"] = strings.TrimSpace(managersNote + "\n\n" + d)
	o["x-required-operation"] = access.OpManageChats
	return o.fails(http.StatusForbidden)
}

var (
	chatStatuses = []string{store.ChatQueued, store.ChatOffered, store.ChatActive, store.ChatCompleted, store.ChatBot}
	chatKinds    = []string{string(chat.KindTelegram), string(chat.KindMessenger)}
	chatRoutings = []string{string(chat.RoutingAll), string(chat.RoutingLeastBusy)}
	chatProcs    = []string{string(chat.ProcessCreateCase), string(chat.ProcessWebhook)}
	chatDirs     = []string{string(chat.FromCustomer), string(chat.FromOperator), string(chat.FromBot), string(chat.Standby),
		string(chat.History)}
	chatSendReasons = []string{"blocked", "window_closed", "thread_owned", "rate_limited", "not_found", "failed"}
)

func chatPaths(add func(string, operation)) {
	list := func(desc, schema string) obj { return jsonResponse(desc, pagedList(schema, false)) }
	chatID := idParam("chat")
	conflict := func(codes string) obj {
		return problemResponse("The chat moved meanwhile or cannot go there: " + codes + ".")
	}
	add("GET /api/v1/chats", op("chats", "listChats", "The caller's operator panel",
		"The chats offered to the caller (accept before accept_by: OmniChatOperatorAcceptChatTimeout), the chats they "+
			"hold, and the chats waiting in their \"to all\" queues (only while they are Active and under "+
			"SimultaneousChats), in that order. Events of these chats are pushed live to the web panel (Server-Sent "+
			"Events); API clients poll.").
		reply(http.StatusOK, list("The panel's chats.", "Chat")).
		fails(http.StatusServiceUnavailable))
	add("GET /api/v1/chats/{id}", op("chats", "getChat", "Get a chat with its history",
		"For its operator, operators of its queue and chat managers (others 404). Opening a chat the caller holds "+
			"clears its unread count. Event entries (direction event) carry a code in body: accepted, offer_expired, "+
			"transferred, transferred_queue, to_bot, from_bot, completed:operator, completed:timeout.").
		params(chatID).
		reply(http.StatusOK, jsonResponse("The chat.", ref("Chat"))).
		fails(http.StatusNotFound, http.StatusServiceUnavailable))
	add("POST /api/v1/chats/{id}/accept", op("chats", "acceptChat", "Accept a chat",
		"Takes a chat offered to the caller, or a chat waiting in a \"to all\" queue they work: the first operator to "+
			"accept takes it, atomically. 409 chat_taken: another operator was first (or the offer lapsed); "+
			"chat_at_cap: the caller holds SimultaneousChats chats; chat_operator_inactive: the caller is Inactive. "+
			"403 chat_not_member: the caller does not work the chat's queue.").
		params(chatID).
		reply(http.StatusOK, jsonResponse("The chat, now the caller's.", ref("Chat"))).
		reply(http.StatusConflict, conflict("chat_taken, chat_at_cap, chat_operator_inactive")).
		fails(http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable))
	add("POST /api/v1/chats/{id}/messages", op("chats", "replyChat", "Reply in a chat",
		"Sends text to the customer through the chat's channel; only the operator holding the chat (others 403). The "+
			"reply is stored first: when the channel's service refuses it, it stays in the history as failed and the "+
			"answer is 502 with code chat_send_failed and reason (blocked: the customer blocked the bot or page; "+
			"window_closed: Messenger's 24-hour window is over; thread_owned: the bot holds the thread; rate_limited; "+
			"not_found; failed).").
		params(chatID).
		body(obj{"allOf": []obj{ref("ChatReply")}, "required": []string{"text"}}).
		reply(http.StatusCreated, jsonResponse("The reply, sent.", ref("ChatMessage"))).
		reply(http.StatusBadGateway, obj{"description": "The channel's service did not deliver the reply.",
			"content": obj{"application/problem+json": obj{"schema": ref("ChatSendProblem")}}}).
		fails(http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable))
	add("POST /api/v1/chats/{id}/complete", op("chats", "completeChat", "Complete a chat",
		"Only the operator holding the chat (others 403). A later message from the customer opens a new chat; a "+
			"Messenger thread goes back to the bot.").
		params(chatID).
		reply(http.StatusOK, jsonResponse("The completed chat.", ref("Chat"))).
		fails(http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable))
	add("POST /api/v1/chats/{id}/transfer", op("chats", "transferChat", "Transfer a chat",
		"Hands the caller's chat (others 403) to another operator (operator_id: they must be Active and under "+
			"SimultaneousChats, else 409 chat_operator_inactive or chat_at_cap) or back to a queue (queue_id), "+
			"where it is routed again. Exactly one of the two (else 400).").
		params(chatID).
		body(ref("ChatTransfer")).
		noContent("Transferred.").
		reply(http.StatusConflict, conflict("chat_at_cap, chat_operator_inactive")).
		fails(http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable))
	add("POST /api/v1/chats/{id}/actions/{action}", op("chats", "runChatAction", "Run a chat action",
		"Runs one of the actions the chat's queue offers (its own and those for every queue) with the chat's ChatId "+
			"and ContactId: create_case makes a case linked to the chat and its contact, webhook posts JSON signed with "+
			"X-Tandem-Signature-256 (sha256=HMAC of the body with the action's secret) to the company's URL; "+
			"502 chat_action_failed when that URL refuses.").
		params(chatID, pathParam("action", "ID of the chat action.", str(""))).
		reply(http.StatusOK, jsonResponse("What the action did.", ref("ChatActionResult"))).
		reply(http.StatusBadGateway, problemResponse("The action's webhook refused the call, or cases are not available.")).
		fails(http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable))
	add("GET /api/v1/contacts/{id}/chats", op("chats", "contactChats", "Chats of a contact",
		"The contact's chats, newest first (at most "+strconv.Itoa(maxContactChats)+"), for those who may read the "+
			"contact (else 404); opening one (GET /api/v1/chats/{id}) follows the chat's own rule.").
		params(idParam("contact")).
		reply(http.StatusOK, list("The chats.", "Chat")).
		fails(http.StatusNotFound, http.StatusServiceUnavailable))
	add("GET /api/v1/chat/status", op("chats", "getChatStatus", "The caller's operator status",
		"Active or Inactive, how many chats they hold or are offered (load) against SimultaneousChats (capacity), and "+
			"the queues they work.").
		reply(http.StatusOK, jsonResponse("The status.", ref("ChatStatus"))).
		fails(http.StatusServiceUnavailable))
	add("PUT /api/v1/chat/status", op("chats", "putChatStatus", "Set the caller Active or Inactive",
		"An Inactive operator gets no new chats and keeps the ones they hold; Active again, waiting chats are "+
			"offered to them.").
		body(obj{"allOf": []obj{ref("ChatStatusUpdate")}, "required": []string{"active"}}).
		reply(http.StatusOK, jsonResponse("The status now.", ref("ChatStatus"))).
		fails(http.StatusBadRequest, http.StatusServiceUnavailable))

	queueID := idParam("queue")
	add("GET /api/v1/chat/queues", op("chats", "listChatQueues", "List chat queues", "By name, with their operators.").
		reply(http.StatusOK, list("The queues.", "ChatQueue")).
		fails(http.StatusServiceUnavailable).managersOnly())
	add("POST /api/v1/chat/queues", op("chats", "createChatQueue", "Create a chat queue",
		"name is unique (400, field name, code duplicate). routing defaults to all. members name users and roles "+
			"(unknown ones: 400, field members). Waiting chats are offered to new members.").
		body(obj{"allOf": []obj{ref("ChatQueueInput")}, "required": []string{"name"}}).
		reply(http.StatusCreated, jsonResponse("The new queue.", ref("ChatQueue"), "Location")).
		fails(http.StatusBadRequest, http.StatusServiceUnavailable).managersOnly())
	add("GET /api/v1/chat/queues/{id}", op("chats", "getChatQueue", "Get a chat queue", "").
		params(queueID).
		reply(http.StatusOK, jsonResponse("The queue.", ref("ChatQueue"))).
		fails(http.StatusNotFound, http.StatusServiceUnavailable).managersOnly())
	add("PATCH /api/v1/chat/queues/{id}", op("chats", "patchChatQueue", "Change a chat queue",
		"Changes the fields present; members replaces the whole list.").
		params(queueID).
		body(ref("ChatQueueInput")).
		reply(http.StatusOK, jsonResponse("The queue.", ref("ChatQueue"))).
		fails(http.StatusBadRequest, http.StatusNotFound, http.StatusServiceUnavailable).managersOnly())
	add("DELETE /api/v1/chat/queues/{id}", op("chats", "deleteChatQueue", "Delete a chat queue",
		"A queue channels route to, or that has chats, cannot be deleted (409 chat_queue_in_use). Its actions go with it.").
		params(queueID).
		noContent("Deleted.").
		reply(http.StatusConflict, problemResponse("Channels route to the queue or it has chats (code chat_queue_in_use).")).
		fails(http.StatusNotFound, http.StatusServiceUnavailable).managersOnly())

	channelID := idParam("channel")
	add("GET /api/v1/chat/channels", op("chats", "listChatChannels", "List chat channels",
		"Telegram bots and Messenger pages, by name, with their health: a broken channel (health broken) says why in "+
			"health_reason, e.g. a bot token another program uses. Channels are added by each kind's own flow in the "+
			"web UI. Secrets are never sent.").
		reply(http.StatusOK, list("The channels.", "ChatChannel")).
		fails(http.StatusServiceUnavailable).managersOnly())
	add("GET /api/v1/chat/channels/{id}", op("chats", "getChatChannel", "Get a chat channel", "").
		params(channelID).
		reply(http.StatusOK, jsonResponse("The channel.", ref("ChatChannel"))).
		fails(http.StatusNotFound, http.StatusServiceUnavailable).managersOnly())
	add("PATCH /api/v1/chat/channels/{id}", op("chats", "patchChatChannel", "Change a chat channel",
		"Renames it, moves it to another queue, or switches it on or off (telling its service: a Telegram webhook is "+
			"set or removed).").
		params(channelID).
		body(ref("ChatChannelUpdate")).
		reply(http.StatusOK, jsonResponse("The channel.", ref("ChatChannel"))).
		fails(http.StatusBadRequest, http.StatusNotFound, http.StatusServiceUnavailable).managersOnly())
	add("DELETE /api/v1/chat/channels/{id}", op("chats", "deleteChatChannel", "Delete a chat channel",
		"A channel that has chats can only be deactivated, not deleted (409 chat_channel_has_chats).").
		params(channelID).
		noContent("Deleted.").
		reply(http.StatusConflict, problemResponse("The channel has chats (code chat_channel_has_chats): deactivate it instead.")).
		fails(http.StatusNotFound, http.StatusServiceUnavailable).managersOnly())

	actionID := idParam("chat action")
	add("GET /api/v1/chat/actions", op("chats", "listChatActions", "List chat actions",
		"By name; with queue_id, those a chat of that queue offers (its own and those for every queue).").
		params(query("queue_id", "Only the actions a chat of this queue offers.", str(""))).
		reply(http.StatusOK, list("The actions.", "ChatAction")).
		fails(http.StatusServiceUnavailable).managersOnly())
	add("POST /api/v1/chat/actions", op("chats", "createChatAction", "Create a chat action",
		"queue_id empty: every queue. A webhook needs url (http or https) and secret (at least "+
			strconv.Itoa(chat.MinActionSecret)+" characters; stored encrypted, shown masked).").
		body(obj{"allOf": []obj{ref("ChatActionInput")}, "required": []string{"name", "process"}}).
		reply(http.StatusCreated, jsonResponse("The new action.", ref("ChatAction"), "Location")).
		fails(http.StatusBadRequest, http.StatusServiceUnavailable).managersOnly())
	add("GET /api/v1/chat/actions/{id}", op("chats", "getChatAction", "Get a chat action", "").
		params(actionID).
		reply(http.StatusOK, jsonResponse("The action.", ref("ChatAction"))).
		fails(http.StatusNotFound, http.StatusServiceUnavailable).managersOnly())
	add("PATCH /api/v1/chat/actions/{id}", op("chats", "patchChatAction", "Change a chat action",
		"Changes the fields present; an empty secret keeps the stored one.").
		params(actionID).
		body(ref("ChatActionInput")).
		reply(http.StatusOK, jsonResponse("The action.", ref("ChatAction"))).
		fails(http.StatusBadRequest, http.StatusNotFound, http.StatusServiceUnavailable).managersOnly())
	add("DELETE /api/v1/chat/actions/{id}", op("chats", "deleteChatAction", "Delete a chat action", "").
		params(actionID).
		noContent("Deleted.").
		fails(http.StatusNotFound, http.StatusServiceUnavailable).managersOnly())
	add("GET /api/v1/chat/operators", op("chats", "listChatOperators", "The operators' state",
		"Every user who has worked as an operator: Active or Inactive, and how many chats they hold or are offered "+
			"(load; SimultaneousChats caps it).").
		reply(http.StatusOK, list("The operators.", "ChatOperator")).
		fails(http.StatusServiceUnavailable).managersOnly())
}

func chatSchemas() obj {
	ts := func(desc string) obj { return nullable(dateTime(desc)) }
	member := obj{
		"kind": enum(chat.MemberKinds, ""),
		"id":   str("The user's or the role's id."),
		"name": str("Read-only: the user's or the role's name."),
	}
	queueFields := obj{
		"name":               text(crm.MaxShort, "Unique."),
		"routing":            enum(chatRoutings, "all: every operator of the queue sees a chat, the first to accept takes it; least_busy: offered to the operator with the fewest chats."),
		"completion_minutes": nullable(obj{"type": "integer", "minimum": 0, "maximum": chat.MaxCompletionMinutes, "description": "Minutes after the last outgoing message that complete a chat: a later customer message opens a new chat. Shown null for never; send 0 for never (null, like an absent field, keeps the value)."}),
		"members":            array(ref("ChatQueueMember"), "Users and roles working the queue."),
	}
	queueOut := with(obj{"id": str(""), "created_at": dateTime("")}, queueFields)
	actionFields := obj{
		"name":     text(crm.MaxShort, ""),
		"queue_id": str("The queue whose chats offer the action; empty: every queue."),
		"process":  enum(chatProcs, "create_case: a case for the chat's contact; webhook: a signed JSON POST."),
		"url":      text(chat.MaxActionURL, "webhook: where the JSON is posted."),
	}
	actionOut := with(obj{"id": str(""), "queue_name": str(""),
		"secret": str("webhook: the signing secret, masked; empty for none.")}, actionFields)
	actionIn := with(obj{"secret": obj{"type": "string", "minLength": chat.MinActionSecret, "maxLength": chat.MaxActionSecret,
		"description": "webhook: the key signing the JSON body (HMAC-SHA256); empty keeps the stored one."}}, actionFields)
	return obj{
		"Chat": output("A chat with a customer on a channel.", obj{
			"id":            str(""),
			"status":        enum(chatStatuses, "bot: the external bot holds the thread (no operator)."),
			"channel_id":    str(""),
			"channel_kind":  enum(chatKinds, ""),
			"channel_name":  str(""),
			"queue_id":      str(""),
			"queue_name":    str(""),
			"routing":       enum(chatRoutings, "The queue's."),
			"contact_id":    str("The customer's contact."),
			"customer_name": str(""),
			"operator_id":   str("Who holds it or is offered it; empty for none."),
			"operator_name": str(""),
			"unread":        integer("Customer messages the operator has not opened yet."),
			"last_message":  str("The newest message's text."),
			"offered_at":    ts(""),
			"accept_by":     ts("offered: when the offer lapses and moves to the next operator."),
			"accepted_at":   ts(""),
			"completed_at":  ts(""),
			"last_in_at":    ts("When the customer last wrote."),
			"last_out_at":   ts("When the customer was last answered."),
			"created_at":    dateTime(""),
			"messages":      array(ref("ChatMessage"), "GET /api/v1/chats/{id} and the moves only: the history, oldest first."),
		}, "messages"),
		"ChatMessage": output("An entry of a chat's history.", obj{
			"id":          str(""),
			"direction":   enum(chatDirs, "in: the customer; out: an operator; bot: the external bot; standby: the customer wrote while the bot held the thread; event: something happened (body is its code)."),
			"author_id":   str(""),
			"author_name": str(""),
			"body":        str(""),
			"attachments": array(ref("ChatAttachment"), ""),
			"state":       str("out: pending, sent or failed."),
			"error":       str("out, failed: why (chat_send_failed reasons)."),
			"at":          dateTime(""),
		}),
		"ChatAttachment": output("A file a message carries, by the service's reference.", obj{
			"kind": str("photo, document, audio, video, file"),
			"ref":  str("The service's file id or URL."),
			"name": str(""),
			"size": integer(""),
		}, "name", "size"),
		"ChatReply":    input("A reply.", obj{"text": text(maxChatReply, "")}),
		"ChatTransfer": input("Where to hand the chat: one of the two.", obj{"operator_id": str(""), "queue_id": str("")}),
		"ChatSendProblem": output("A reply the channel's service did not deliver (code chat_send_failed).", obj{
			"type": str(""), "title": str(""), "status": obj{"type": "integer"}, "detail": str("Why, in the caller's language."),
			"code":       str("chat_send_failed"),
			"reason":     enum(chatSendReasons, ""),
			"message_id": str("The reply, kept in the history as failed."),
			"temporary":  boolean("Trying again later could help."),
		}),
		"ChatActionResult": output("What a chat action did.", obj{
			"case_id":        str("create_case: the new case."),
			"webhook_status": integer("webhook: the HTTP status the URL answered."),
		}),
		"ChatStatus": output("The caller as an operator.", obj{
			"active":    boolean("Inactive operators get no new chats."),
			"load":      integer("Chats held or offered."),
			"capacity":  integer("SimultaneousChats."),
			"queue_ids": array(str(""), "The queues the caller works, directly or through roles."),
		}),
		"ChatStatusUpdate": input("The caller's status.", obj{"active": boolean("")}),
		"ChatQueueMember":  with(input("A user or role working a queue.", member), obj{"required": []string{"kind", "id"}}),
		"ChatQueue":        output("A chat queue.", queueOut),
		"ChatQueueInput":   input("A chat queue's fields.", queueFields),
		"ChatChannel": output("A Telegram bot or Messenger page; its secret is never sent.", obj{
			"id":            str(""),
			"kind":          enum(chatKinds, ""),
			"external_id":   str("The bot's or the page's id."),
			"name":          str(""),
			"active":        boolean("An inactive channel takes no messages."),
			"queue_id":      str(""),
			"queue_name":    str(""),
			"health":        enum([]string{"ok", "broken"}, ""),
			"health_reason": str("broken: why, e.g. a bot token used by another program."),
			"health_at":     ts(""),
			"chats":         integer("How many chats it has: a channel with chats cannot be deleted."),
			"created_at":    dateTime(""),
		}),
		"ChatChannelUpdate": input("What a chat manager changes on a channel.", obj{
			"name": text(crm.MaxShort, ""), "queue_id": str(""), "active": boolean(""),
		}),
		"ChatAction":      output("A chat action.", actionOut),
		"ChatActionInput": input("A chat action's fields.", actionIn),
		"ChatOperator": output("An operator's state.", obj{
			"user_id": str(""), "name": str(""), "active": boolean(""), "load": integer("Chats held or offered."),
		}),
	}
}
