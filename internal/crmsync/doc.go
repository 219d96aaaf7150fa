// Package crmsync is the CRM side of sync bindings: the reconcile.Local
// adapters that map Tandem's records to the engine's fields and hold each
// binding kind's policy — which records are in scope (a personal tag for
// contacts; shown in the calendar, organized or owned by the user and
// reaching the sync-from date for events; the user's tasks outside the
// calendar, not older than the sync-from date, for to-do lists), what a
// remote removal means locally, the calendar profile rules that lock
// fields, and the organizer rule run before a calendar binding's export.
// The engine (reconcile) knows none of this; providers (connector/…) never
// see it.
package crmsync
