package api

import (
	"net/http"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

type caseIn struct {
	Subject      *string      `json:"subject"`
	Description  *string      `json:"description"`
	Status       *string      `json:"status"`
	Priority     *string      `json:"priority"`
	ContactID    *string      `json:"contact_id"`
	AccountID    *string      `json:"account_id"`
	SourceChatID *string      `json:"source_chat_id"`
	OwnerID      *string      `json:"owner_id"`
	Tags         *[]tagIn     `json:"tags"`
	Access       *[]grantJSON `json:"access"`
}

// apply copies the fields present in the request onto k; fresh says k is
// a new case, the only time its source chat may be set.
func (in *caseIn) apply(k *crm.Case, fresh bool, fe crm.FieldErrors) {
	set(&k.Subject, in.Subject)
	set(&k.Description, in.Description)
	if in.Status != nil {
		st, err := crm.ParseCaseStatus(*in.Status)
		if err != nil {
			fe.Add("status", crm.ErrUnknownEnum)
		}
		k.Status = st
	}
	if in.Priority != nil {
		p, err := crm.ParseCasePriority(*in.Priority)
		if err != nil {
			fe.Add("priority", crm.ErrUnknownEnum)
		}
		k.Priority = p
	}
	set(&k.ContactID, in.ContactID)
	set(&k.AccountID, in.AccountID)
	if in.SourceChatID != nil && *in.SourceChatID != k.SourceChatID {
		if !fresh {
			fe.Add("source_chat_id", "error.read_only")
		}
		k.SourceChatID = *in.SourceChatID
	}
	set(&k.OwnerID, in.OwnerID)
	k.Tags, k.Access = nil, nil
	if in.Tags != nil {
		k.Tags = tagRefs(in.Tags)
	}
	if in.Access != nil {
		k.Access = grantsIn(in.Access)
	}
}

type caseOut struct {
	ID           string      `json:"id"`
	Number       string      `json:"number"`
	Subject      string      `json:"subject"`
	Description  string      `json:"description"`
	Status       string      `json:"status"`
	Priority     string      `json:"priority"`
	ContactID    *string     `json:"contact_id"`
	ContactName  string      `json:"contact_name,omitempty"`
	AccountID    *string     `json:"account_id"`
	AccountName  string      `json:"account_name,omitempty"`
	SourceChatID *string     `json:"source_chat_id"`
	OwnerID      string      `json:"owner_id"`
	CreatedBy    string      `json:"created_by"`
	Tags         []tagOut    `json:"tags"`
	Access       []grantJSON `json:"access"`
	CreatedAt    time.Time   `json:"created_at"`
	UpdatedAt    time.Time   `json:"updated_at"`
	ClosedAt     *time.Time  `json:"closed_at"`
	Version      int64       `json:"version"`
}

func caseJSON(k *crm.Case) caseOut {
	return caseOut{ID: k.ID, Number: k.Ref(), Subject: k.Subject, Description: k.Description, Status: string(k.Status),
		Priority: string(k.Priority), ContactID: optional(k.ContactID), ContactName: k.ContactName,
		AccountID: optional(k.AccountID), AccountName: k.AccountName, SourceChatID: optional(k.SourceChatID),
		OwnerID: k.OwnerID, CreatedBy: k.CreatedBy, Tags: tagsOut(k.Tags), Access: grantsOut(k.Access),
		CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt, ClosedAt: k.ClosedAt, Version: k.Version}
}

// caseFilter reads the list's query string; values outside a closed set
// are field errors.
func caseFilter(r *http.Request) (store.CaseFilter, error) {
	p, err := pageParams(r)
	if err != nil {
		return store.CaseFilter{}, err
	}
	q := r.URL.Query()
	f := store.CaseFilter{Q: q.Get("q"), OwnerID: q.Get("owner_id"), ContactID: q.Get("contact_id"),
		AccountID: q.Get("account_id"), SourceChatID: q.Get("source_chat_id"), TagID: q.Get("tag_id"), Page: p}
	fe := crm.FieldErrors{}
	for _, s := range q["status"] {
		st, err := crm.ParseCaseStatus(s)
		if err != nil {
			fe.Add("status", crm.ErrUnknownEnum)
		}
		f.Statuses = append(f.Statuses, st)
	}
	if s := q.Get("priority"); s != "" {
		if f.Priority, err = crm.ParseCasePriority(s); err != nil {
			fe.Add("priority", crm.ErrUnknownEnum)
		}
	}
	if f.Sort, err = store.ParseCaseSort(q.Get("sort")); err != nil {
		fe.Add("sort", crm.ErrUnknownEnum)
	}
	return f, fe.Err()
}

func (a *API) listCases(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	f, err := caseFilter(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	items, next, err := a.st.ListCases(r.Context(), v, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writePage(w, items, next, caseJSON)
}

func (a *API) createCase(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	createRecord(a, a.cases(), w, r, v, func(in *caseIn, k *crm.Case, fe crm.FieldErrors) { in.apply(k, true, fe) })
}

func (a *API) getCase(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	a.cases().serveGet(a, w, r, v)
}

func (a *API) patchCase(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	patch(a, a.cases(), w, r, v, func(in *caseIn, k *crm.Case, fe crm.FieldErrors) { in.apply(k, false, fe) })
}

func (a *API) deleteCase(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	a.cases().serveDelete(a, w, r, v)
}
