package mail

import (
	"context"
	"crypto/tls"

	"github.com/tandem-crm/tandem/internal/mail/smtp"
)

func (m *Mailboxes) smtpOptions() []smtp.Option {
	if m.TLS != nil {
		return []smtp.Option{smtp.WithTLSConfig(m.TLS)}
	}
	return nil
}

func smtpVerify(ctx context.Context, ep Endpoints, t *tls.Config) error {
	var opts []smtp.Option
	if t != nil {
		opts = append(opts, smtp.WithTLSConfig(t))
	}
	return smtp.Verify(ctx, ep.SMTP, ep.Auth, opts...)
}
