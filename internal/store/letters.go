package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tandem-crm/tandem/internal/crm"
)

// Letter is one letter as loaded from a folder: the raw message, what the
// parser read from it, and where it sits.
type Letter struct {
	Hash string // sha256 of Raw, hex
	Raw  []byte

	MessageID   string
	InReplyTo   string
	References  []string
	Subject     string
	Snippet     string
	FromName    string
	FromEmail   string
	SentAt      int64 // the Date header, micros; 0 when unreadable
	ReceivedAt  int64 // the server's arrival time, micros
	Addresses   []LetterAddress
	Attachments []LetterAttachment
	Warnings    []string

	// Where it sits.
	UID   uint32
	Seen  bool
	Flags string
}

// LetterAddress is one address of a letter; Role is from, sender,
// reply_to, to, cc or bcc.
type LetterAddress struct {
	Role, Email, Name string
}

// LetterAttachment describes one attachment; its bytes stay in the raw
// letter.
type LetterAttachment struct {
	Filename, ContentType, ContentID string
	Inline                           bool
	Size                             int64
}

// FolderCursor is a folder's IMAP state after a load.
type FolderCursor struct {
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
}

// SaveLetters stores letters found in one folder of a mailbox and moves
// the folder's cursor to cur, in one transaction, so a crash leaves either
// both or neither. A letter already stored (same content, from any
// folder or mailbox) gains a location and nothing else. It returns how
// many letters were new to Tandem.
func (s *Store) SaveLetters(ctx context.Context, mailboxID, folder string, cur FolderCursor, letters []Letter) (int, error) {
	created := 0
	err := s.InTx(ctx, func(tx *Tx) error {
		created = 0
		var ok bool
		if err := tx.q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM mailboxes WHERE connection_id = $1)`, mailboxID).Scan(&ok); err != nil {
			return fmt.Errorf("save letters: %w", err)
		}
		if !ok {
			return ErrMailboxGone
		}
		now := crm.Micros(crm.Now())
		for i := range letters {
			l := &letters[i]
			id, isNew, err := s.saveLetter(ctx, tx.q, l, now)
			if err != nil {
				return err
			}
			if isNew {
				created++
			}
			if _, err := tx.q.ExecContext(ctx, `INSERT INTO mail_locations (mailbox_id, folder, uid_validity, uid, message_id, seen,
				flags, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (mailbox_id, folder, uid_validity, uid) DO UPDATE SET seen = excluded.seen, flags = excluded.flags`,
				mailboxID, folder, int64(cur.UIDValidity), int64(l.UID), id, l.Seen, l.Flags, l.ReceivedAt); err != nil {
				return fmt.Errorf("save letter location: %w", err)
			}
		}
		return setFolderCursor(ctx, tx.q, mailboxID, folder, cur, now)
	})
	return created, err
}

func setFolderCursor(ctx context.Context, q querier, mailboxID, folder string, cur FolderCursor, now int64) error {
	_, err := q.ExecContext(ctx, `INSERT INTO mail_folders (mailbox_id, name, uid_validity, uid_next, highest_modseq, loaded_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (mailbox_id, name) DO UPDATE SET uid_validity = excluded.uid_validity,
		uid_next = excluded.uid_next, highest_modseq = excluded.highest_modseq, loaded_at = excluded.loaded_at`,
		mailboxID, folder, int64(cur.UIDValidity), int64(cur.UIDNext), int64(cur.HighestModSeq), now)
	if err != nil {
		return fmt.Errorf("folder cursor: %w", err)
	}
	return nil
}

// saveLetter stores l once by its hash and returns its id.
func (s *Store) saveLetter(ctx context.Context, q querier, l *Letter, now int64) (id string, isNew bool, err error) {
	err = q.QueryRowContext(ctx, `SELECT id FROM mail_messages WHERE hash = $1`, l.Hash).Scan(&id)
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", false, fmt.Errorf("find letter: %w", err)
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO mail_blobs (hash, size, data) VALUES ($1, $2, $3) ON CONFLICT (hash) DO NOTHING`,
		l.Hash, len(l.Raw), l.Raw); err != nil {
		return "", false, fmt.Errorf("store raw letter: %w", err)
	}
	id = newID()
	thread, err := threadOf(ctx, q, l)
	if err != nil {
		return "", false, err
	}
	if thread == "" {
		thread = id
	}
	warnings, _ := json.Marshal(nonNil(l.Warnings))
	if _, err := q.ExecContext(ctx, `INSERT INTO mail_messages (id, hash, message_id, thread_id, in_reply_to, subject, snippet,
		from_name, from_email, sent_at, received_at, size, has_attachments, warnings, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		id, l.Hash, l.MessageID, thread, l.InReplyTo, l.Subject, l.Snippet, l.FromName, crm.Fold(l.FromEmail), l.SentAt,
		l.ReceivedAt, len(l.Raw), hasAttachments(l.Attachments), string(warnings), now); err != nil {
		return "", false, fmt.Errorf("store letter: %w", err)
	}
	pos := map[string]int{}
	for _, a := range l.Addresses {
		email := crm.Fold(a.Email)
		if email == "" {
			continue
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO mail_addresses (message_id, role, position, email, name) VALUES ($1, $2, $3, $4, $5)`,
			id, a.Role, pos[a.Role], email, a.Name); err != nil {
			return "", false, fmt.Errorf("store letter address: %w", err)
		}
		pos[a.Role]++
	}
	for i, a := range l.Attachments {
		if _, err := q.ExecContext(ctx, `INSERT INTO mail_attachments (message_id, position, filename, content_type, content_id,
			inline, size) VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, i, a.Filename, a.ContentType, a.ContentID, a.Inline, a.Size); err != nil {
			return "", false, fmt.Errorf("store letter attachment: %w", err)
		}
	}
	return id, true, nil
}

func hasAttachments(as []LetterAttachment) bool {
	for _, a := range as {
		if !a.Inline {
			return true
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// threadOf finds the thread of the letters l answers (In-Reply-To, then
// References from the nearest), "" when none is stored.
func threadOf(ctx context.Context, q querier, l *Letter) (string, error) {
	refs := make([]string, 0, len(l.References)+1)
	if l.InReplyTo != "" {
		refs = append(refs, l.InReplyTo)
	}
	for i := len(l.References) - 1; i >= 0; i-- {
		refs = append(refs, l.References[i])
	}
	for _, ref := range refs {
		if ref == "" || ref == l.MessageID {
			continue
		}
		var thread string
		err := q.QueryRowContext(ctx, `SELECT thread_id FROM mail_messages WHERE message_id = $1 ORDER BY created_at LIMIT 1`, ref).Scan(&thread)
		if err == nil {
			return thread, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("letter thread: %w", err)
		}
	}
	return "", nil
}

// ResetMailFolder forgets a folder's locations of an older UIDVALIDITY:
// its UIDs mean nothing any more. The letters stay; loading the folder
// again finds them by content and gives them their new UIDs.
func (s *Store) ResetMailFolder(ctx context.Context, mailboxID, folder string, validity uint32) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM mail_locations WHERE mailbox_id = $1 AND folder = $2 AND uid_validity <> $3`,
			mailboxID, folder, int64(validity)); err != nil {
			return fmt.Errorf("reset mail folder: %w", err)
		}
		return setFolderCursor(ctx, tx.q, mailboxID, folder, FolderCursor{UIDValidity: validity}, 0)
	})
}

// MailUIDs returns the UIDs Tandem holds for a folder at validity.
func (s *Store) MailUIDs(ctx context.Context, mailboxID, folder string, validity uint32) ([]uint32, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT uid FROM mail_locations WHERE mailbox_id = $1 AND folder = $2 AND uid_validity = $3
		ORDER BY uid`, mailboxID, folder, int64(validity))
	if err != nil {
		return nil, fmt.Errorf("mail uids: %w", err)
	}
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var uid int64
		if err := rows.Scan(&uid); err != nil {
			return nil, fmt.Errorf("mail uids: %w", err)
		}
		out = append(out, uint32(uid))
	}
	return out, rows.Err()
}

// LetterSummary is a letter as lists show it.
type LetterSummary struct {
	ID             string
	ThreadID       string
	Subject        string
	Snippet        string
	FromName       string
	FromEmail      string
	SentAt         int64
	ReceivedAt     int64
	HasAttachments bool
	Seen           bool // seen in every mailbox the viewer sees it in
	Warnings       []string
}

const letterSummaryCols = `mm.id, mm.thread_id, mm.subject, mm.snippet, mm.from_name, mm.from_email, mm.sent_at, mm.received_at,
	mm.has_attachments, mm.warnings`

// visibleMailboxes is the SQL set of mailbox ids a user sees letters of:
// those they own and those granted to them (or a role of theirs) with
// rights, any right when panel is false, send when it is true (a "read"
// grant shows letters on timelines, not in the panel).
func visibleMailboxes(userParam string, panel bool) string {
	rights := "(g.can_read OR g.can_send OR g.can_configure)"
	if panel {
		rights = "g.can_send"
	}
	return fmt.Sprintf(`(SELECT m.connection_id FROM mailboxes m JOIN connections c ON c.id = m.connection_id WHERE c.user_id = %[1]s
		UNION SELECT g.mailbox_id FROM mailbox_grants g WHERE %[2]s AND ((g.grantee_kind = 'user' AND g.grantee_id = %[1]s)
		OR (g.grantee_kind = 'role' AND g.grantee_id IN (SELECT role_id FROM user_roles WHERE user_id = %[1]s))))`, userParam, rights)
}

// LettersOfRecord lists, newest first, the letters that name an address
// of a contact (entity "contact") or of an account or its contacts
// ("account"), among those the user may see. before pages: the
// received_at and id of the last letter of the previous page.
func (s *Store) LettersOfRecord(ctx context.Context, userID, entity, recordID string, before LetterCursor, limit int) ([]LetterSummary, error) {
	var addrs string
	args := []any{userID, recordID}
	switch entity {
	case "contact":
		addrs = `SELECT a.message_id FROM mail_addresses a JOIN contact_emails ce ON ce.address_fold = a.email WHERE ce.contact_id = $2`
	case "account":
		var email string
		err := s.r.QueryRowContext(ctx, `SELECT email FROM accounts WHERE id = $1`, recordID).Scan(&email)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, fmt.Errorf("letters of account: %w", err)
		}
		addrs = `SELECT a.message_id FROM mail_addresses a JOIN contact_emails ce ON ce.address_fold = a.email
			JOIN contacts ct ON ct.id = ce.contact_id WHERE ct.account_id = $2
			UNION SELECT a.message_id FROM mail_addresses a WHERE a.email = $3`
		args = append(args, crm.Fold(email))
	default:
		return nil, fmt.Errorf("letters of %q: unknown entity", entity)
	}
	return s.letters(ctx, `mm.id IN (`+addrs+`) AND EXISTS (SELECT 1 FROM mail_locations l WHERE l.message_id = mm.id
		AND l.mailbox_id IN `+visibleMailboxes("$1", false)+`)`, args, userID, false, before, limit)
}

// LetterCursor pages letter lists: the last letter of the previous page.
type LetterCursor struct {
	ReceivedAt int64
	ID         string
}

// LettersOfUser lists, newest first, the letters of the communication
// panel: those in the user's mailboxes and in shared ones they may send
// from; mailboxID narrows it to one of them.
func (s *Store) LettersOfUser(ctx context.Context, userID, mailboxID string, before LetterCursor, limit int) ([]LetterSummary, error) {
	where := `EXISTS (SELECT 1 FROM mail_locations l WHERE l.message_id = mm.id AND l.mailbox_id IN ` + visibleMailboxes("$1", true)
	args := []any{userID}
	if mailboxID != "" {
		where += ` AND l.mailbox_id = $2`
		args = append(args, mailboxID)
	}
	return s.letters(ctx, where+`)`, args, userID, true, before, limit)
}

func (s *Store) letters(ctx context.Context, where string, args []any, userID string, panel bool, before LetterCursor, limit int) ([]LetterSummary, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	if before.ID != "" {
		n := len(args)
		where += fmt.Sprintf(` AND (mm.received_at < $%d OR (mm.received_at = $%d AND mm.id < $%d))`, n+1, n+1, n+2)
		args = append(args, before.ReceivedAt, before.ID)
	}
	seen := `NOT EXISTS (SELECT 1 FROM mail_locations l2 WHERE l2.message_id = mm.id AND NOT l2.seen AND l2.mailbox_id IN ` +
		visibleMailboxes("$1", panel) + `)`
	rows, err := s.r.QueryContext(ctx, `SELECT `+letterSummaryCols+`, `+seen+` FROM mail_messages mm WHERE `+where+`
		ORDER BY mm.received_at DESC, mm.id DESC LIMIT `+fmt.Sprint(limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list letters: %w", err)
	}
	defer rows.Close()
	var out []LetterSummary
	for rows.Next() {
		var l LetterSummary
		var warnings string
		if err := rows.Scan(&l.ID, &l.ThreadID, &l.Subject, &l.Snippet, &l.FromName, &l.FromEmail, &l.SentAt, &l.ReceivedAt,
			&l.HasAttachments, &warnings, &l.Seen); err != nil {
			return nil, fmt.Errorf("list letters: %w", err)
		}
		if err := json.Unmarshal([]byte(warnings), &l.Warnings); err != nil {
			return nil, fmt.Errorf("letter %s warnings: %w", l.ID, err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list letters: %w", err)
	}
	return out, nil
}

// UnreadCounts counts, per mailbox of the panel, the letters not seen.
func (s *Store) UnreadCounts(ctx context.Context, userID string) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT l.mailbox_id, COUNT(DISTINCT l.message_id) FROM mail_locations l
		WHERE NOT l.seen AND l.mailbox_id IN `+visibleMailboxes("$1", true)+` GROUP BY l.mailbox_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("unread letters: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("unread letters: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

// LetterDetail is one letter with its addresses, attachments and where
// the viewer sees it.
type LetterDetail struct {
	LetterSummary
	Hash        string
	MessageID   string
	InReplyTo   string
	Size        int64
	Addresses   []LetterAddress
	Attachments []LetterAttachment
	MailboxIDs  []string // the viewer's mailboxes holding it
}

// GetLetter returns a letter the user may see (ErrNotFound otherwise).
func (s *Store) GetLetter(ctx context.Context, userID, id string) (*LetterDetail, error) {
	list, err := s.letters(ctx, `mm.id = $2 AND EXISTS (SELECT 1 FROM mail_locations l WHERE l.message_id = mm.id
		AND l.mailbox_id IN `+visibleMailboxes("$1", false)+`)`, []any{userID, id}, userID, false, LetterCursor{}, 1)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, ErrNotFound
	}
	d := &LetterDetail{LetterSummary: list[0]}
	if err := s.r.QueryRowContext(ctx, `SELECT hash, message_id, in_reply_to, size FROM mail_messages WHERE id = $1`, id).
		Scan(&d.Hash, &d.MessageID, &d.InReplyTo, &d.Size); err != nil {
		return nil, fmt.Errorf("get letter: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT role, email, name FROM mail_addresses WHERE message_id = $1 ORDER BY role, position`, id)
	if err != nil {
		return nil, fmt.Errorf("letter addresses: %w", err)
	}
	for rows.Next() {
		var a LetterAddress
		if err := rows.Scan(&a.Role, &a.Email, &a.Name); err != nil {
			rows.Close()
			return nil, fmt.Errorf("letter addresses: %w", err)
		}
		d.Addresses = append(d.Addresses, a)
	}
	rows.Close()
	rows, err = s.r.QueryContext(ctx, `SELECT filename, content_type, content_id, inline, size FROM mail_attachments
		WHERE message_id = $1 ORDER BY position`, id)
	if err != nil {
		return nil, fmt.Errorf("letter attachments: %w", err)
	}
	for rows.Next() {
		var a LetterAttachment
		if err := rows.Scan(&a.Filename, &a.ContentType, &a.ContentID, &a.Inline, &a.Size); err != nil {
			rows.Close()
			return nil, fmt.Errorf("letter attachments: %w", err)
		}
		d.Attachments = append(d.Attachments, a)
	}
	rows.Close()
	rows, err = s.r.QueryContext(ctx, `SELECT DISTINCT mailbox_id FROM mail_locations WHERE message_id = $1 AND mailbox_id IN `+
		visibleMailboxes("$2", false)+` ORDER BY mailbox_id`, id, userID)
	if err != nil {
		return nil, fmt.Errorf("letter mailboxes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, fmt.Errorf("letter mailboxes: %w", err)
		}
		d.MailboxIDs = append(d.MailboxIDs, m)
	}
	return d, rows.Err()
}

// LetterRaw returns a stored letter's raw bytes by hash.
func (s *Store) LetterRaw(ctx context.Context, hash string) ([]byte, error) {
	var raw []byte
	err := s.r.QueryRowContext(ctx, `SELECT data FROM mail_blobs WHERE hash = $1`, hash).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("raw letter: %w", err)
	}
	return raw, nil
}

// CountLetters counts the stored letters and their locations in a
// mailbox, for tests and the mailbox page.
func (s *Store) CountLetters(ctx context.Context, mailboxID string) (letters, locations int, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT COUNT(DISTINCT message_id), COUNT(*) FROM mail_locations WHERE mailbox_id = $1`,
		mailboxID).Scan(&letters, &locations)
	if err != nil {
		return 0, 0, fmt.Errorf("count letters: %w", err)
	}
	return letters, locations, nil
}

// SaveLetterAt stores one letter with one location without moving the
// folder's cursor: a letter Tandem sent and appended to the Sent folder
// (a later load of that folder finds it by content). uid 0 means the
// letter is in no server folder (the append failed or there is no Sent
// folder): it gets a location of its own under folder "" so that it
// shows where its mailbox's letters show.
func (s *Store) SaveLetterAt(ctx context.Context, mailboxID, folder string, validity, uid uint32, l Letter) (string, error) {
	var id string
	err := s.InTx(ctx, func(tx *Tx) error {
		var ok bool
		if err := tx.q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM mailboxes WHERE connection_id = $1)`, mailboxID).Scan(&ok); err != nil {
			return fmt.Errorf("save letter: %w", err)
		}
		if !ok {
			return ErrMailboxGone
		}
		var err error
		if id, _, err = s.saveLetter(ctx, tx.q, &l, crm.Micros(crm.Now())); err != nil {
			return err
		}
		u := int64(uid)
		if uid == 0 {
			folder, validity = "", 0
			if err := tx.q.QueryRowContext(ctx, `SELECT COALESCE(MAX(uid), 0) + 1 FROM mail_locations WHERE mailbox_id = $1
				AND folder = ''`, mailboxID).Scan(&u); err != nil {
				return fmt.Errorf("save letter: %w", err)
			}
		}
		_, err = tx.q.ExecContext(ctx, `INSERT INTO mail_locations (mailbox_id, folder, uid_validity, uid, message_id, seen, flags,
			received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (mailbox_id, folder, uid_validity, uid) DO NOTHING`,
			mailboxID, folder, int64(validity), u, id, l.Seen, l.Flags, l.ReceivedAt)
		if err != nil {
			return fmt.Errorf("save letter location: %w", err)
		}
		return nil
	})
	return id, err
}

// MailFlags is a letter's flags in one folder, as the server reports them.
type MailFlags struct {
	UID   uint32
	Seen  bool
	Flags string
}

// UpdateMailFlags records flag changes of a folder's letters and moves
// its HIGHESTMODSEQ, in one transaction. UIDs Tandem does not hold (older
// than the first load) are ignored.
func (s *Store) UpdateMailFlags(ctx context.Context, mailboxID, folder string, validity uint32, modseq uint64, changes []MailFlags) error {
	return s.InTx(ctx, func(tx *Tx) error {
		for _, c := range changes {
			if _, err := tx.q.ExecContext(ctx, `UPDATE mail_locations SET seen = $5, flags = $6 WHERE mailbox_id = $1 AND folder = $2
				AND uid_validity = $3 AND uid = $4`, mailboxID, folder, int64(validity), int64(c.UID), c.Seen, c.Flags); err != nil {
				return fmt.Errorf("update mail flags: %w", err)
			}
		}
		if _, err := tx.q.ExecContext(ctx, `UPDATE mail_folders SET highest_modseq = $4 WHERE mailbox_id = $1 AND name = $2
			AND uid_validity = $3`, mailboxID, folder, int64(validity), int64(modseq)); err != nil {
			return fmt.Errorf("update mail flags: %w", err)
		}
		return nil
	})
}

// PruneLetters removes the letters no mailbox holds any more (their last
// mailbox was removed) and raw letters no letter names. A letter still in
// any mailbox stays, with its raw bytes.
func (s *Store) PruneLetters(ctx context.Context) (int64, error) {
	var n int64
	err := s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.q.ExecContext(ctx, `DELETE FROM mail_messages WHERE NOT EXISTS
			(SELECT 1 FROM mail_locations l WHERE l.message_id = mail_messages.id)`)
		if err != nil {
			return fmt.Errorf("prune letters: %w", err)
		}
		n, _ = res.RowsAffected()
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM mail_blobs WHERE NOT EXISTS
			(SELECT 1 FROM mail_messages m WHERE m.hash = mail_blobs.hash)`); err != nil {
			return fmt.Errorf("prune raw letters: %w", err)
		}
		return nil
	})
	return n, err
}
