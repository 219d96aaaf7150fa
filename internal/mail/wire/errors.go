package wire

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

// Kind says which part of talking to a mail server failed, so a user can be
// told what to fix.
type Kind string

const (
	// KindAuth: the server refused the credentials (wrong password, token
	// refused or expired, account disabled).
	KindAuth Kind = "auth"
	// KindUnreachable: no connection (DNS, refused, timeout, network down).
	KindUnreachable Kind = "unreachable"
	// KindTLS: the TLS handshake or the certificate failed, or the server
	// does not speak the security that was chosen (TLS against a plain port,
	// STARTTLS not offered).
	KindTLS Kind = "tls"
	// KindProtocol: anything else the server said or did wrong.
	KindProtocol Kind = "protocol"
)

// Error is a failure talking to a mail server, with its Kind.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return string(e.Kind)
	}
	return string(e.Kind) + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

func newError(k Kind, err error) *Error { return &Error{Kind: k, Err: err} }

// AuthError wraps err as KindAuth.
func AuthError(err error) error { return newError(KindAuth, err) }

// ProtocolError wraps err as KindProtocol unless it already has a kind.
func ProtocolError(err error) error {
	if err == nil {
		return nil
	}
	var we *Error
	if errors.As(err, &we) {
		return err
	}
	return newError(KindProtocol, err)
}

// KindOf returns the kind of the first *Error in err's chain, or "" when
// there is none (nil, or a plain error such as the caller's context ending).
func KindOf(err error) Kind {
	var we *Error
	if errors.As(err, &we) {
		return we.Kind
	}
	return ""
}

// IsAuth reports whether err is a refused login.
func IsAuth(err error) bool { return KindOf(err) == KindAuth }

// IsUnreachable reports whether the server could not be reached.
func IsUnreachable(err error) bool { return KindOf(err) == KindUnreachable }

// IsTLS reports whether TLS failed.
func IsTLS(err error) bool { return KindOf(err) == KindTLS }

// ClassifyDial turns an error from dialling and greeting (TCP connect, TLS
// handshake, STARTTLS, reading the banner) into an *Error: TLS failures
// (handshake, certificate, a plain server answering a TLS hello, a TLS
// server answered in plain text) are KindTLS; DNS, refusal, timeouts and
// resets are KindUnreachable; the rest KindProtocol. An error that already
// has a kind is returned as is; nil stays nil.
func ClassifyDial(err error) error {
	if err == nil {
		return nil
	}
	var we *Error
	if errors.As(err, &we) {
		return err
	}
	if isTLSError(err) {
		return newError(KindTLS, err)
	}
	if isUnreachable(err) {
		return newError(KindUnreachable, err)
	}
	return newError(KindProtocol, err)
}

func isTLSError(err error) bool {
	var (
		recordErr  tls.RecordHeaderError
		alertErr   tls.AlertError
		certErr    *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		echErr     *tls.ECHRejectionError
	)
	switch {
	case errors.As(err, &recordErr), errors.As(err, &alertErr), errors.As(err, &certErr),
		errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalidErr),
		errors.As(err, &echErr):
		return true
	}
	// crypto/tls reports most handshake failures as plain errors prefixed
	// "tls: " (e.g. "tls: first record does not look like a TLS handshake").
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.HasPrefix(e.Error(), "tls: ") {
			return true
		}
	}
	return false
}

func isUnreachable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	for _, errno := range []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EHOSTUNREACH,
		syscall.ENETUNREACH, syscall.ETIMEDOUT, syscall.EADDRNOTAVAIL, syscall.EPIPE} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// The server hung up before or during the greeting.
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
