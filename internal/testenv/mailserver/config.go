package mailserver

import (
	"fmt"
	"strings"
)

// dovecotConf is a private Dovecot: IMAP on two loopback ports (plain with
// STARTTLS, implicit TLS), LMTP and the auth service on unix sockets in the
// server's directory for Postfix, Maildir homes owned by nobody.
func (s *Server) dovecotConf() string {
	mechs := "plain login"
	passdbs := fmt.Sprintf(`passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %s
}
`, s.path("users"))
	if s.opts.OAuth != nil {
		mechs += " xoauth2 oauthbearer"
		// Each mechanism goes to its own passdb: a password never reaches
		// the token check and a token is never compared with a password.
		passdbs = fmt.Sprintf(`passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%%u %s
}
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = %s
}
`, s.path("users"), s.path("oauth2.conf.ext"))
	}
	capLine := ""
	if s.opts.IMAPCapability != "" {
		capLine = "  imap_capability = " + s.opts.IMAPCapability + "\n"
	}
	fsync := "never"
	if s.opts.Fsync {
		fsync = "optimized"
	}
	if s.opts.IMAPOnly {
		return s.dovecotIMAPOnly(mechs, passdbs, capLine, fsync)
	}
	return fmt.Sprintf(`# Tandem test mail server (internal/testenv/mailserver); private, loopback only.
instance_name = tandem-mail-%[1]d
base_dir = %[2]s
state_dir = %[3]s
log_path = %[4]s
protocols = imap lmtp
listen = 127.0.0.1
ssl = yes
ssl_cert = <%[5]s
ssl_key = <%[6]s
disable_plaintext_auth = no
auth_mechanisms = %[7]s
auth_failure_delay = 0
auth_verbose = yes
mail_location = maildir:~/Maildir
mail_fsync = %[15]s
first_valid_uid = 1
protocol imap {
  mail_max_userip_connections = 200
%[14]s}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \Drafts
    auto = subscribe
  }
  mailbox "Sent Items" {
    special_use = \Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \Trash
    auto = subscribe
  }
  mailbox Junk {
    special_use = \Junk
    auto = subscribe
  }
}
%[8]s
userdb {
  driver = passwd-file
  args = username_format=%%u %[9]s
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %[10]d
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %[11]d
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
service lmtp {
  unix_listener %[12]s {
    mode = 0666
  }
}
service auth {
  unix_listener %[13]s {
    mode = 0666
  }
}
service anvil {
  chroot =
  # Mode 0 turns the auth penalty off: no growing delay after a test's
  # deliberate failed logins from 127.0.0.1.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`, s.ports.imap, s.path("dovecot/run"), s.path("dovecot/state"), s.path("dovecot.log"),
		s.path("cert.pem"), s.path("key.pem"), mechs, passdbs, s.path("users"),
		s.ports.imap, s.ports.imaps, s.path("lmtp"), s.path("auth"), capLine, fsync)
}

// dovecotIMAPOnly is Dovecot alone: IMAP on one loopback port, no TLS,
// plain login.
func (s *Server) dovecotIMAPOnly(mechs, passdbs, capLine, fsync string) string {
	return fmt.Sprintf(`# Tandem mail server (internal/testenv/mailserver), IMAP only; private, loopback only.
instance_name = tandem-mail-%[1]d
base_dir = %[2]s
state_dir = %[3]s
log_path = %[4]s
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = %[5]s
auth_failure_delay = 0
mail_location = maildir:~/Maildir
mail_fsync = %[6]s
first_valid_uid = 1
protocol imap {
  mail_max_userip_connections = 200
%[7]s}
namespace inbox {
  inbox = yes
  separator = /
}
%[8]s
userdb {
  driver = passwd-file
  args = username_format=%%u %[9]s
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %[1]d
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
service anvil {
  chroot =
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
`, s.ports.imap, s.path("dovecot/run"), s.path("dovecot/state"), s.path("dovecot.log"), mechs, fsync, capLine,
		passdbs, s.path("users"))
}

func (s *Server) oauth2Conf() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tokeninfo_url = %s\n", s.opts.OAuth.TokenInfoURL)
	b.WriteString("username_attribute = email\n")
	if s.opts.OAuth.Scope != "" {
		fmt.Fprintf(&b, "scope = %s\n", s.opts.OAuth.Scope)
	}
	return b.String()
}

// postfixMain accepts mail for the test domain on the MX port, submission
// with SASL (through Dovecot's auth socket) on the submission ports, relays
// nowhere else, and delivers everything for the domain to Dovecot over LMTP.
func (s *Server) postfixMain() string {
	return fmt.Sprintf(`# Tandem test mail server (internal/testenv/mailserver); private, loopback only.
compatibility_level = 3.6
config_directory = %[1]s
queue_directory = %[2]s
data_directory = %[3]s
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.%[4]s
mydomain = %[4]s
myorigin = %[4]s
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
maillog_file = %[5]s
maillog_file_prefixes = %[6]s
smtputf8_enable = no
biff = no
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = %[4]s
virtual_transport = lmtp:unix:%[7]s
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions =
smtpd_sasl_type = dovecot
smtpd_sasl_path = %[8]s
smtpd_tls_cert_file = %[9]s
smtpd_tls_key_file = %[10]s
smtpd_tls_security_level = may
smtpd_tls_auth_only = no
smtpd_tls_loglevel = 0
message_size_limit = 104857600
# Delivery attempts against a stopped Dovecot come back fast in tests.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
`, s.path("postfix/conf"), s.path("postfix/queue"), s.path("postfix/data"), s.opts.Domain,
		s.path("postfix.log"), s.dir, s.path("lmtp"), s.path("auth"), s.path("cert.pem"), s.path("key.pem"))
}

func (s *Server) postfixMaster() string {
	// Submission: SASL required, then mail may go to the test domain only.
	sub := "-o smtpd_sasl_auth_enable=yes -o smtpd_client_restrictions=permit_sasl_authenticated,reject " +
		"-o smtpd_relay_restrictions=permit_sasl_authenticated,reject -o smtpd_recipient_restrictions=reject_unauth_destination"
	return fmt.Sprintf(`# service type private unpriv chroot wakeup maxproc command
127.0.0.1:%d inet n - n - - smtpd
127.0.0.1:%d inet n - n - - smtpd %s
127.0.0.1:%d inet n - n - - smtpd -o smtpd_tls_wrappermode=yes %s
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
`, s.ports.mx, s.ports.submission, sub, s.ports.submissions, sub)
}
