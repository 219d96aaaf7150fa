package chat

import (
	"context"
	"net/http"

	"github.com/tandem-crm/tandem/internal/access"
)

// CaseCreator makes the built-in "Create case" action's case: a case for
// the chat's contact, linked to the chat, owned by the operator.
type CaseCreator interface {
	CreateCaseFromChat(ctx context.Context, v access.Viewer, chatID, contactID, subject string) (caseID string, err error)
}

// HTTPDoer posts a webhook action.
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}
