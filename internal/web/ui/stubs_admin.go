package ui

import "net/http"

// Placeholders, replaced by profile.go/admin.go.
func (u *UI) profileRoutes(mux *http.ServeMux) {}
func (u *UI) adminRoutes(mux *http.ServeMux)   {}
