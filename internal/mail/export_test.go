package mail

import "time"

// SetLoadLease shortens how long a load's lease on its mailbox lasts
// between renewals, so tests can hold a load past it.
func SetLoadLease(m *Mailboxes, ttl time.Duration) { m.loadLease = ttl }
