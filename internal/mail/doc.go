// Package mail owns providers, domains, mailboxes, loading, linking,
// sending, sharing.
//
// The directory part (directory.go, presets.go, domains.go) is the
// administrator's list of mail providers — IMAP/SMTP or Exchange /
// Microsoft 365 servers with their ports, security, login format and
// authentication — and of the address domains that map to them, so that
// adding a mailbox can detect the provider from an address and learn the
// domain when the user picks one. Rules (types, validation, defaults,
// presets, the sealing of OAuth client secrets) live here; the store keeps
// the rows. Transports live in subpackages.
package mail
