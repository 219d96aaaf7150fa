package ui

import "net/http"

// Placeholders, replaced by contacts.go/accounts.go/activities.go.
func (u *UI) crmRoutes(mux *http.ServeMux)     {}
func (u *UI) accountRoutes(mux *http.ServeMux) {}
