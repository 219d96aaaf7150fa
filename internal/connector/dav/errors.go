package dav

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// Errors the connect screen and the sync engine tell apart. Test with
// errors.Is: the client wraps them with what it was doing.
var (
	// ErrUnauthorized: the server refused the user name or app password (401).
	ErrUnauthorized = errors.New("dav: wrong user name or password")
	// ErrNotDAV: the URL answers, but not as a CalDAV/CardDAV server.
	ErrNotDAV = errors.New("dav: not a CalDAV/CardDAV server")
	// ErrTLS: the TLS handshake failed (bad or untrusted certificate, not TLS).
	ErrTLS = errors.New("dav: TLS problem")
	// ErrNoAddressBook / ErrNoCalendar: discovery worked but the account has none.
	ErrNoAddressBook = errors.New("dav: no address book found")
	ErrNoCalendar    = errors.New("dav: no calendar found")
	// ErrPrecondition: If-Match or If-None-Match failed (412): the object
	// changed (or exists) on the server; re-read it and merge again.
	ErrPrecondition = errors.New("dav: the object changed on the server")
	// ErrInvalidSyncToken: the server no longer accepts the sync token
	// (RFC 6578 DAV:valid-sync-token); reconcile the whole collection.
	ErrInvalidSyncToken = errors.New("dav: sync token no longer valid")
	// ErrNotFound: the object or collection does not exist (404).
	ErrNotFound = errors.New("dav: not found")
)

// StatusError is an HTTP answer the client did not expect.
type StatusError struct {
	Method, URL string
	Code        int
	Body        string // the start of the body, for the log
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("dav: %s %s: %d", e.Method, e.URL, e.Code)
	}
	return fmt.Sprintf("dav: %s %s: %d: %s", e.Method, e.URL, e.Code, e.Body)
}

// Is lets errors.Is(err, ErrNotFound) match a 404.
func (e *StatusError) Is(target error) bool {
	return target == ErrNotFound && e.Code == 404
}

// isTLS reports whether err comes from the TLS handshake or certificate
// verification.
func isTLS(err error) bool {
	var (
		cv  *tls.CertificateVerificationError
		rh  tls.RecordHeaderError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		alt tls.AlertError
	)
	return errors.As(err, &cv) || errors.As(err, &rh) || errors.As(err, &ua) || errors.As(err, &he) ||
		errors.As(err, &ci) || errors.As(err, &alt)
}
