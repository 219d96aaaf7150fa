package chat

import (
	"fmt"
	"time"
)

// Routing is how a queue hands chats to its operators.
type Routing string

// Routing rules.
const (
	// RoutingAll: every operator of the queue sees the chat; the first to
	// accept takes it.
	RoutingAll Routing = "all"
	// RoutingLeastBusy: the chat is offered to the operator with the
	// fewest chats (ties: the one waiting longest since taking one).
	RoutingLeastBusy Routing = "least_busy"
)

// ParseRouting decodes a stored or submitted routing rule.
func ParseRouting(s string) (Routing, error) {
	switch r := Routing(s); r {
	case RoutingAll, RoutingLeastBusy:
		return r, nil
	}
	return "", fmt.Errorf("unknown routing %q", s)
}

// Status is where a chat is.
type Status string

// Chat statuses.
const (
	StatusQueued    Status = "queued"    // waiting for an operator
	StatusOffered   Status = "offered"   // offered to one operator (least busy)
	StatusActive    Status = "active"    // an operator holds it
	StatusCompleted Status = "completed" // over; a new message opens a new chat
	StatusBot       Status = "bot"       // the external bot holds the thread
)

// ParseStatus decodes a stored chat status.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case StatusQueued, StatusOffered, StatusActive, StatusCompleted, StatusBot:
		return st, nil
	}
	return "", fmt.Errorf("unknown chat status %q", s)
}

// Kind is a channel's service.
type Kind string

// Channel kinds.
const (
	KindTelegram  Kind = "telegram"
	KindMessenger Kind = "messenger"
)

// ParseKind decodes a channel kind.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case KindTelegram, KindMessenger:
		return k, nil
	}
	return "", fmt.Errorf("unknown channel kind %q", s)
}

// Direction is who a chat message is from.
type Direction string

// Directions.
const (
	FromCustomer Direction = "in"      // the customer wrote
	FromOperator Direction = "out"     // an operator replied
	FromBot      Direction = "bot"     // the external bot replied
	Standby      Direction = "standby" // the customer wrote while the bot held the thread
	History      Direction = "event"   // accepted, transferred, completed… (a code the UI translates)
)

// Process is what a chat action does.
type Process string

// Processes.
const (
	ProcessCreateCase Process = "create_case" // built in: a case for the chat's contact
	ProcessWebhook    Process = "webhook"     // a signed JSON POST to the company's URL
)

// ParseProcess decodes an action's process.
func ParseProcess(s string) (Process, error) {
	switch p := Process(s); p {
	case ProcessCreateCase, ProcessWebhook:
		return p, nil
	}
	return "", fmt.Errorf("unknown action process %q", s)
}

// Inbound is something a channel delivered about a customer.
type Inbound struct {
	// ID is the service's id of the delivery (Telegram update id,
	// Messenger mid): a redelivery is stored once.
	ID string
	// Address is where replies go (a Telegram chat id, a PSID).
	Address string
	// Customer is the sender as the service knows them.
	Customer Customer
	Text     string
	// Attachments the customer sent (their service references).
	Attachments []Attachment
	At          time.Time
	// Direction: FromCustomer (default), Standby (observed while the bot
	// held the thread) or FromBot (the bot's own reply).
	Direction Direction
}

// Customer is a channel user.
type Customer struct {
	ID       string // the service's user id
	Name     string
	Username string
	Phone    string
}

// Attachment is a file a message carries, by the service's reference.
type Attachment struct {
	Kind string `json:"kind"` // photo, document, audio, video, file
	Ref  string `json:"ref"`  // the service's file id or URL
	Name string `json:"name,omitempty"`
	Size int64  `json:"size,omitempty"`
}

// Outgoing is an operator's reply as an adapter sends it.
type Outgoing struct {
	Text string
	// LastInbound is when the customer last wrote: Messenger's 24-hour
	// window counts from it.
	LastInbound time.Time
}
