package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
)

// Mailbox is a mailbox connection's settings. Package mail owns their
// rules (periods, folders, who may change what); the store keeps them as
// given. The connection (owner, address, health, sealed credentials) is
// the Connection with the same id.
type Mailbox struct {
	ID         string // the connection's id
	ProviderID string // the mail provider
	Address    string
	Login      string // the user name for IMAP and SMTP
	FirstLoad  string // the period of the first load
	AutoLoad   bool
	AllFolders bool
	Folders    []string // the folders loaded when not AllFolders
	SendEnabled,
	DefaultSender bool
	Alias            string
	Signature        string // sanitized HTML
	SignatureEnabled bool
	Shared           bool
	LoadedSince      int64 // micros; 0 before the first load
	CreatedAt        int64
	UpdatedAt        int64

	// Read only, from the connection.
	OwnerID      string
	Status       ConnectionStatus
	StatusReason string
	LastLoadAt   int64
}

const mailboxCols = `m.connection_id, m.provider_id, m.address, m.login, m.first_load, m.auto_load, m.all_folders, m.folders,
	m.send_enabled, m.default_sender, m.alias, m.signature, m.signature_enabled, m.shared, m.loaded_since, m.created_at,
	m.updated_at, c.user_id, c.status, c.status_reason, c.last_sync_at`

func scanMailbox(row interface{ Scan(...any) error }) (*Mailbox, error) {
	var m Mailbox
	var folders, status string
	err := row.Scan(&m.ID, &m.ProviderID, &m.Address, &m.Login, &m.FirstLoad, &m.AutoLoad, &m.AllFolders, &folders,
		&m.SendEnabled, &m.DefaultSender, &m.Alias, &m.Signature, &m.SignatureEnabled, &m.Shared, &m.LoadedSince,
		&m.CreatedAt, &m.UpdatedAt, &m.OwnerID, &status, &m.StatusReason, &m.LastLoadAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read mailbox: %w", err)
	}
	if err := json.Unmarshal([]byte(folders), &m.Folders); err != nil {
		return nil, fmt.Errorf("mailbox %s folders: %w", m.ID, err)
	}
	if m.Status, err = ParseConnectionStatus(status); err != nil {
		return nil, fmt.Errorf("mailbox %s: %w", m.ID, err)
	}
	return &m, nil
}

func foldersJSON(f []string) string {
	if f == nil {
		f = []string{}
	}
	b, _ := json.Marshal(f)
	return string(b)
}

// CreateMailbox creates the connection c and its mailbox m in one
// transaction; credentials are sealed by the caller. A default sender
// takes the place of the owner's previous one. ErrDuplicate: the user
// already has this mailbox.
func (s *Store) CreateMailbox(ctx context.Context, c *Connection, m *Mailbox, credentials string) error {
	if err := normalizeConnection(c); err != nil {
		return err
	}
	if c.ID == "" {
		c.ID = newID()
	}
	m.ID, m.OwnerID = c.ID, c.UserID
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.insertConnection(ctx, tx, c, credentials); err != nil {
			return err
		}
		now := crm.Micros(crm.Now())
		m.CreatedAt, m.UpdatedAt = now, now
		if m.DefaultSender {
			if err := clearDefaultSender(ctx, tx, c.UserID, m.ID); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO mailboxes (connection_id, provider_id, address, login, first_load, auto_load,
			all_folders, folders, send_enabled, default_sender, alias, signature, signature_enabled, shared, loaded_since,
			created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			m.ID, m.ProviderID, m.Address, m.Login, m.FirstLoad, m.AutoLoad, m.AllFolders, foldersJSON(m.Folders),
			m.SendEnabled, m.DefaultSender, m.Alias, m.Signature, m.SignatureEnabled, m.Shared, m.LoadedSince, now, now)
		if isForeignKey(err) {
			return fmt.Errorf("create mailbox: %w", ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("create mailbox: %w", err)
		}
		return nil
	})
}

func clearDefaultSender(ctx context.Context, q querier, userID, except string) error {
	_, err := q.ExecContext(ctx, `UPDATE mailboxes SET default_sender = FALSE WHERE default_sender AND connection_id <> $2
		AND connection_id IN (SELECT id FROM connections WHERE user_id = $1)`, userID, except)
	if err != nil {
		return fmt.Errorf("default sender: %w", err)
	}
	return nil
}

// GetMailbox returns one mailbox, whoever owns it (callers check rights).
func (s *Store) GetMailbox(ctx context.Context, id string) (*Mailbox, error) {
	return scanMailbox(s.r.QueryRowContext(ctx, `SELECT `+mailboxCols+` FROM mailboxes m
		JOIN connections c ON c.id = m.connection_id WHERE m.connection_id = $1`, id))
}

// MailboxAccess is what one user may do with a mailbox.
type MailboxAccess struct {
	Owner, Read, Send, Configure bool
}

// Any reports whether the user may use the mailbox at all.
func (a MailboxAccess) Any() bool { return a.Owner || a.Read || a.Send || a.Configure }

// MailboxWithAccess is a mailbox and the viewer's rights on it.
type MailboxWithAccess struct {
	Mailbox
	Access MailboxAccess
}

// grantsOf sums a user's grants on mailbox m (alias), directly or through
// their roles, as three boolean columns.
func grantsOf(alias, userParam string) string {
	grant := func(col string) string {
		return fmt.Sprintf(`EXISTS (SELECT 1 FROM mailbox_grants g WHERE g.mailbox_id = %[1]s.connection_id AND g.%[3]s
			AND ((g.grantee_kind = 'user' AND g.grantee_id = %[2]s) OR (g.grantee_kind = 'role' AND g.grantee_id IN
			(SELECT role_id FROM user_roles WHERE user_id = %[2]s))))`, alias, userParam, col)
	}
	return grant("can_read") + ", " + grant("can_send") + ", " + grant("can_configure")
}

// MailboxesOf lists the mailboxes a user owns or holds any right on, with
// those rights, owned ones first, then by address.
func (s *Store) MailboxesOf(ctx context.Context, userID string) ([]MailboxWithAccess, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT * FROM (SELECT `+mailboxCols+`, `+grantsOf("m", "$1")+`
		FROM mailboxes m JOIN connections c ON c.id = m.connection_id) x`, userID)
	if err != nil {
		return nil, fmt.Errorf("list mailboxes: %w", err)
	}
	defer rows.Close()
	var out []MailboxWithAccess
	for rows.Next() {
		var mw MailboxWithAccess
		var read, send, conf bool
		m, err := scanMailbox(scanAppend{rows, []any{&read, &send, &conf}})
		if err != nil {
			return nil, err
		}
		mw.Mailbox = *m
		mw.Access = MailboxAccess{Owner: m.OwnerID == userID, Read: read, Send: send, Configure: conf}
		if mw.Access.Any() {
			out = append(out, mw)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list mailboxes: %w", err)
	}
	sortMailboxes(out)
	return out, nil
}

// scanAppend scans a row into the mailbox columns and then extra.
type scanAppend struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (s scanAppend) Scan(dest ...any) error { return s.row.Scan(append(dest, s.extra...)...) }

func sortMailboxes(ms []MailboxWithAccess) {
	slices.SortFunc(ms, func(a, b MailboxWithAccess) int {
		if a.Access.Owner != b.Access.Owner {
			if a.Access.Owner {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Address, b.Address)
	})
}

// MailboxAccessOf returns a user's rights on one mailbox (ErrNotFound when
// the mailbox does not exist).
func (s *Store) MailboxAccessOf(ctx context.Context, userID, mailboxID string) (*Mailbox, MailboxAccess, error) {
	var read, send, conf bool
	m, err := scanMailbox(scanAppend{s.r.QueryRowContext(ctx, `SELECT `+mailboxCols+`, `+grantsOf("m", "$2")+`
		FROM mailboxes m JOIN connections c ON c.id = m.connection_id WHERE m.connection_id = $1`, mailboxID, userID),
		[]any{&read, &send, &conf}})
	if err != nil {
		return nil, MailboxAccess{}, err
	}
	return m, MailboxAccess{Owner: m.OwnerID == userID, Read: read, Send: send, Configure: conf}, nil
}

// UpdateMailbox saves a mailbox's settings (not its address, provider or
// owner). A default sender takes the place of the owner's previous one; a
// mailbox that is not shared loses its grants.
func (s *Store) UpdateMailbox(ctx context.Context, m *Mailbox) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		m.UpdatedAt = crm.Micros(crm.Now())
		res, err := tx.ExecContext(ctx, `UPDATE mailboxes SET login = $2, first_load = $3, auto_load = $4, all_folders = $5,
			folders = $6, send_enabled = $7, default_sender = $8, alias = $9, signature = $10, signature_enabled = $11,
			shared = $12, updated_at = $13 WHERE connection_id = $1`,
			m.ID, m.Login, m.FirstLoad, m.AutoLoad, m.AllFolders, foldersJSON(m.Folders), m.SendEnabled, m.DefaultSender,
			m.Alias, m.Signature, m.SignatureEnabled, m.Shared, m.UpdatedAt)
		if err != nil {
			return fmt.Errorf("update mailbox: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if !m.Shared {
			// Only a shared mailbox has grants: un-sharing one ends them,
			// or its grantees would go on reading and sending from what is
			// now a personal mailbox.
			if _, err := tx.ExecContext(ctx, `DELETE FROM mailbox_grants WHERE mailbox_id = $1`, m.ID); err != nil {
				return fmt.Errorf("update mailbox: end grants: %w", err)
			}
		}
		if m.DefaultSender {
			var owner string
			if err := tx.QueryRowContext(ctx, `SELECT user_id FROM connections WHERE id = $1`, m.ID).Scan(&owner); err != nil {
				return fmt.Errorf("update mailbox: %w", err)
			}
			return clearDefaultSender(ctx, tx, owner, m.ID)
		}
		return nil
	})
}

// SetMailboxLoadedSince records the first load's lower bound once.
func (s *Store) SetMailboxLoadedSince(ctx context.Context, id string, since int64) error {
	_, err := s.w.ExecContext(ctx, `UPDATE mailboxes SET loaded_since = $2 WHERE connection_id = $1 AND loaded_since = 0`, id, since)
	if err != nil {
		return fmt.Errorf("mailbox loaded since: %w", err)
	}
	return nil
}

// MailboxGrant gives a user or a role rights on a shared mailbox.
type MailboxGrant struct {
	GranteeKind           string // "user" or "role"
	GranteeID             string
	GranteeName           string // read only
	Read, Send, Configure bool
}

// MailboxGrants lists a mailbox's grants, users first, by name.
func (s *Store) MailboxGrants(ctx context.Context, mailboxID string) ([]MailboxGrant, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT g.grantee_kind, g.grantee_id,
		COALESCE((SELECT u.name FROM users u WHERE g.grantee_kind = 'user' AND u.id = g.grantee_id),
		         (SELECT r.name FROM roles r WHERE g.grantee_kind = 'role' AND r.id = g.grantee_id), ''),
		g.can_read, g.can_send, g.can_configure
		FROM mailbox_grants g WHERE g.mailbox_id = $1 ORDER BY g.grantee_kind DESC, 3, g.grantee_id`, mailboxID)
	if err != nil {
		return nil, fmt.Errorf("mailbox grants: %w", err)
	}
	defer rows.Close()
	var out []MailboxGrant
	for rows.Next() {
		var g MailboxGrant
		if err := rows.Scan(&g.GranteeKind, &g.GranteeID, &g.GranteeName, &g.Read, &g.Send, &g.Configure); err != nil {
			return nil, fmt.Errorf("mailbox grants: %w", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mailbox grants: %w", err)
	}
	return out, nil
}

// SetMailboxGrants replaces a mailbox's grants; a grant with no right is
// dropped. ErrNotFound: a grantee that does not exist.
func (s *Store) SetMailboxGrants(ctx context.Context, mailboxID string, grants []MailboxGrant) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM mailbox_grants WHERE mailbox_id = $1`, mailboxID); err != nil {
			return fmt.Errorf("mailbox grants: %w", err)
		}
		for _, g := range grants {
			if !g.Read && !g.Send && !g.Configure {
				continue
			}
			table := map[string]string{"user": "users", "role": "roles"}[g.GranteeKind]
			if table == "" {
				return fmt.Errorf("mailbox grants: grantee kind %q unknown", g.GranteeKind)
			}
			var ok bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE id = $1)`, g.GranteeID).Scan(&ok); err != nil {
				return fmt.Errorf("mailbox grants: %w", err)
			}
			if !ok {
				return fmt.Errorf("mailbox grants: %s %s: %w", g.GranteeKind, g.GranteeID, ErrNotFound)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO mailbox_grants (mailbox_id, grantee_kind, grantee_id, can_read, can_send,
				can_configure) VALUES ($1, $2, $3, $4, $5, $6)`, mailboxID, g.GranteeKind, g.GranteeID, g.Read, g.Send, g.Configure); err != nil {
				if s.dialect.isUnique(err) {
					return fmt.Errorf("mailbox grants: %s %s twice: %w", g.GranteeKind, g.GranteeID, ErrDuplicate)
				}
				return fmt.Errorf("mailbox grants: %w", err)
			}
		}
		return nil
	})
}

// MailFolder is one folder of a mailbox as last listed, with its cursor.
type MailFolder struct {
	Name          string
	Parent        string
	Special       string // the SPECIAL-USE attribute (\Sent, \Trash, …), if any
	Selectable    bool
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
	LoadedAt      int64
}

// MailFolders lists a mailbox's folders by name.
func (s *Store) MailFolders(ctx context.Context, mailboxID string) ([]MailFolder, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, parent, special, selectable, uid_validity, uid_next, highest_modseq, loaded_at
		FROM mail_folders WHERE mailbox_id = $1 ORDER BY name`, mailboxID)
	if err != nil {
		return nil, fmt.Errorf("mail folders: %w", err)
	}
	defer rows.Close()
	var out []MailFolder
	for rows.Next() {
		var f MailFolder
		var validity, next, modseq int64
		if err := rows.Scan(&f.Name, &f.Parent, &f.Special, &f.Selectable, &validity, &next, &modseq, &f.LoadedAt); err != nil {
			return nil, fmt.Errorf("mail folders: %w", err)
		}
		f.UIDValidity, f.UIDNext, f.HighestModSeq = uint32(validity), uint32(next), uint64(modseq)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mail folders: %w", err)
	}
	return out, nil
}

// SaveMailFolders records the folder tree as listed: new folders are
// added, gone ones removed (their letters stay), and the cursors of the
// others kept.
func (s *Store) SaveMailFolders(ctx context.Context, mailboxID string, folders []MailFolder) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		names := make([]string, 0, len(folders))
		for _, f := range folders {
			names = append(names, f.Name)
			_, err := tx.ExecContext(ctx, `INSERT INTO mail_folders (mailbox_id, name, parent, special, selectable)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (mailbox_id, name) DO UPDATE SET parent = excluded.parent,
				special = excluded.special, selectable = excluded.selectable`, mailboxID, f.Name, f.Parent, f.Special, f.Selectable)
			if err != nil {
				return fmt.Errorf("save mail folders: %w", err)
			}
		}
		q := `DELETE FROM mail_folders WHERE mailbox_id = $1`
		args := []any{mailboxID}
		if len(names) > 0 {
			q += ` AND name NOT IN (` + params(2, len(names)) + `)`
			args = append(args, anySlice(names)...)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("save mail folders: %w", err)
		}
		return nil
	})
}

// ErrMailboxGone is a load or send for a mailbox deleted meanwhile.
var ErrMailboxGone = errors.New("mailbox deleted")

// DueMailbox is a mailbox that loads on its own, with its last load.
type DueMailbox struct {
	ID         string
	LastLoadAt int64
}

// AutoLoadMailboxes lists the mailboxes that load new mail on their own
// and whose connection does not wait for its user (needs_reauth).
func (s *Store) AutoLoadMailboxes(ctx context.Context) ([]DueMailbox, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT m.connection_id, c.last_sync_at FROM mailboxes m
		JOIN connections c ON c.id = m.connection_id WHERE m.auto_load AND c.status <> $1 ORDER BY c.last_sync_at`,
		ConnectionNeedsReauth)
	if err != nil {
		return nil, fmt.Errorf("due mailboxes: %w", err)
	}
	defer rows.Close()
	var out []DueMailbox
	for rows.Next() {
		var d DueMailbox
		if err := rows.Scan(&d.ID, &d.LastLoadAt); err != nil {
			return nil, fmt.Errorf("due mailboxes: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// TryIdleLease takes (or, for its holder, extends) a mailbox's IDLE lease
// until ttl from now, if it is free, expired or already holder's.
func (s *Store) TryIdleLease(ctx context.Context, mailboxID, holder string, ttl time.Duration) (bool, error) {
	now := crm.Now()
	res, err := s.w.ExecContext(ctx, `UPDATE mailboxes SET idle_holder = $2, idle_until = $3
		WHERE connection_id = $1 AND (idle_until < $4 OR idle_holder = $2)`,
		mailboxID, holder, crm.Micros(now.Add(ttl)), crm.Micros(now))
	if err != nil {
		return false, fmt.Errorf("idle lease: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReleaseIdleLease gives a mailbox's IDLE lease back.
func (s *Store) ReleaseIdleLease(ctx context.Context, mailboxID, holder string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE mailboxes SET idle_holder = '', idle_until = 0 WHERE connection_id = $1
		AND idle_holder = $2`, mailboxID, holder)
	if err != nil {
		return fmt.Errorf("release idle lease: %w", err)
	}
	return nil
}
