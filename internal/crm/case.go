package crm

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// CaseStatus is where a case stands. The set is closed: the database
// checks it and the chat package switches on it, so an unknown value is an
// input error (ParseCaseStatus, Validate), never stored.
type CaseStatus string

// Case statuses, in the order of a case's life.
const (
	CaseNew        CaseStatus = "new"
	CaseInProgress CaseStatus = "in_progress"
	CaseWaiting    CaseStatus = "waiting" // on the customer or a third party
	CaseResolved   CaseStatus = "resolved"
	CaseClosed     CaseStatus = "closed"
)

// CaseStatuses lists every status in UI order.
var CaseStatuses = []CaseStatus{CaseNew, CaseInProgress, CaseWaiting, CaseResolved, CaseClosed}

// OpenCaseStatuses are the statuses of a case someone still has to work on.
var OpenCaseStatuses = []CaseStatus{CaseNew, CaseInProgress, CaseWaiting}

// Done reports whether a case in this status is finished (resolved or
// closed): it has a closing time and drops out of "open" lists.
func (s CaseStatus) Done() bool { return s == CaseResolved || s == CaseClosed }

// CasePriority is how urgent a case is; a closed set like CaseStatus.
type CasePriority string

// Case priorities, lowest first.
const (
	CaseLow    CasePriority = "low"
	CaseNormal CasePriority = "normal"
	CaseHigh   CasePriority = "high"
	CaseUrgent CasePriority = "urgent"
)

// CasePriorities lists every priority in UI order.
var CasePriorities = []CasePriority{CaseLow, CaseNormal, CaseHigh, CaseUrgent}

// ErrUnknownValue is a value outside a closed set (a status, a priority);
// input layers report it on the field as ErrUnknownEnum.
var ErrUnknownValue = errors.New("unknown value")

// ParseCaseStatus reads a status as sent by a client.
func ParseCaseStatus(s string) (CaseStatus, error) { return parseEnum("case status", s, CaseStatuses) }

// ParseCasePriority reads a priority as sent by a client.
func ParseCasePriority(s string) (CasePriority, error) {
	return parseEnum("case priority", s, CasePriorities)
}

func parseEnum[E ~string](what, s string, set []E) (E, error) {
	if e := E(s); slices.Contains(set, e) {
		return e, nil
	}
	return "", fmt.Errorf("%w: %s %q", ErrUnknownValue, what, s)
}

// Strings returns the values of a closed set as plain strings, in order
// (for select options and the OpenAPI document).
func Strings[E ~string](set []E) []string {
	out := make([]string, len(set))
	for i, e := range set {
		out[i] = string(e)
	}
	return out
}

// CaseRefPrefix starts every case reference ("CS-000123").
const CaseRefPrefix = "CS-"

// Case is a customer's request to be worked on to its resolution: a
// question, a problem, a complaint. It may come from a chat.
type Case struct {
	ID          string
	Number      int64 // allocated by the store on create, never reused
	Subject     string
	Description string
	Status      CaseStatus
	Priority    CasePriority
	ContactID   string
	AccountID   string
	// SourceChatID is the chat the case was created from; "" for a case
	// made by hand. Only the chat package sets it.
	SourceChatID string
	OwnerID      string // responsible user
	CreatedBy    string // set by the store
	Tags         []TagRef
	Access       []Grant // nil on update means "leave as is"
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// ClosedAt is when the case was resolved or closed; nil while open.
	// The store keeps it: stamped when the status becomes done, kept while
	// it stays done, cleared when the case is reopened.
	ClosedAt *time.Time
	Version  int64
	// Filled by the store for display: the names of the contact and
	// account, "" when the reader may not see them.
	ContactName string
	AccountName string
}

// Ref is the case's human reference, "CS-000123"; "" before it is stored.
func (k *Case) Ref() string {
	if k.Number <= 0 {
		return ""
	}
	return fmt.Sprintf("%s%06d", CaseRefPrefix, k.Number)
}

// Normalize trims and fills defaults: a new case is new and of normal
// priority unless said otherwise.
func (k *Case) Normalize() {
	k.Subject = strings.TrimSpace(k.Subject)
	k.SourceChatID = strings.TrimSpace(k.SourceChatID)
	if k.Status == "" {
		k.Status = CaseNew
	}
	if k.Priority == "" {
		k.Priority = CaseNormal
	}
}

// Validate reports every field problem.
func (k *Case) Validate() error {
	fe := FieldErrors{}
	lim := limits[KindCase]
	checkLen(fe, "subject", k.Subject, lim["subject"], true)
	checkLen(fe, "description", k.Description, lim["description"], false)
	checkLen(fe, "source_chat_id", k.SourceChatID, lim["source_chat_id"], false)
	if _, err := ParseCaseStatus(string(k.Status)); err != nil {
		fe.Add("status", ErrUnknownEnum)
	}
	if _, err := ParseCasePriority(string(k.Priority)); err != nil {
		fe.Add("priority", ErrUnknownEnum)
	}
	ValidateGrants(fe, k.Access)
	return fe.Err()
}

// SearchText is what case search matches against, folded: the reference
// (so "CS-000123" and "123" both find it) and the subject.
func (k *Case) SearchText() string {
	return Fold(strings.Join(nonEmpty(k.Ref(), k.Subject), " "))
}
