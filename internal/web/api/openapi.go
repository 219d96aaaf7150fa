package api

import "net/http"

func (a *API) openAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, openAPIDoc())
}

// openAPIDoc is filled in by openapi_doc.go.
func openAPIDoc() map[string]any { return map[string]any{"openapi": "3.1.0"} }
