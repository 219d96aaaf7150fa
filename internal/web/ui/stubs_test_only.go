package ui

import "net/http"

// Placeholders replaced by the page files (contacts.go, accounts.go,
// profile.go, admin.go).
func (u *UI) crmRoutes(mux *http.ServeMux)     {}
func (u *UI) accountRoutes(mux *http.ServeMux) {}
func (u *UI) profileRoutes(mux *http.ServeMux) {}
func (u *UI) adminRoutes(mux *http.ServeMux)   {}
