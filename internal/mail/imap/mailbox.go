package imap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Status is what Examine learns about a folder.
type Status struct {
	Folder      string
	UIDValidity uint32
	// UIDNext is the server's prediction of the next UID; it may jump.
	UIDNext uint32
	// HighestModSeq is 0 when the server has no CONDSTORE or the folder
	// has no mod-sequences (NOMODSEQ).
	HighestModSeq uint64
	Messages      uint32
}

// Examine selects folder read-only (EXAMINE, so nothing it does can set
// \Seen), with CONDSTORE when offered. The folder stays selected for
// SearchSince, UIDsFrom, AllUIDs, Fetch and ChangedSince, which see it as
// of this Examine: call Examine again (as each sync does, for UIDNEXT and
// HIGHESTMODSEQ) to see later changes.
func (cl *Client) Examine(ctx context.Context, folder string) (Status, error) {
	var st Status
	err := cl.do(ctx, "examine "+folder, func() error {
		cl.selected = ""
		d, err := cl.c.Select(folder, &goimap.SelectOptions{ReadOnly: true, CondStore: cl.caps.Has(goimap.CapCondStore)}).Wait()
		if err != nil {
			return err
		}
		cl.selected = folder
		st = Status{Folder: folder, UIDValidity: d.UIDValidity, UIDNext: uint32(d.UIDNext),
			HighestModSeq: d.HighestModSeq, Messages: d.NumMessages}
		return nil
	})
	return st, err
}

func (cl *Client) needSelected() error {
	if cl.selected == "" {
		return ErrNotSelected
	}
	return nil
}

// SearchSince returns the UIDs of the examined folder's messages whose
// INTERNALDATE falls on or after t's date, asking the server for one day
// earlier: SEARCH SINCE compares dates only, in the server's time zone, so
// the answer can be a day off either way. The caller must filter the
// fetched messages by their exact Message.InternalDate.
func (cl *Client) SearchSince(ctx context.Context, t time.Time) ([]uint32, error) {
	day := t.UTC().AddDate(0, 0, -1)
	return cl.search(ctx, "search since", &goimap.SearchCriteria{Since: day}, 0)
}

// UIDsFrom returns the UIDs ≥ uid in the examined folder (new mail since a
// stored UIDNEXT). The server answers "uid:*" with the highest UID even
// when every UID is below uid; those are dropped here.
func (cl *Client) UIDsFrom(ctx context.Context, uid uint32) ([]uint32, error) {
	if uid == 0 {
		uid = 1
	}
	var set goimap.UIDSet
	set.AddRange(goimap.UID(uid), 0) // uid:*
	return cl.search(ctx, "search uid", &goimap.SearchCriteria{UID: []goimap.UIDSet{set}}, uid)
}

// AllUIDs returns every UID of the examined folder, ascending; comparing it
// with what was loaded finds expunged messages.
func (cl *Client) AllUIDs(ctx context.Context) ([]uint32, error) {
	return cl.search(ctx, "search all", &goimap.SearchCriteria{}, 0)
}

func (cl *Client) search(ctx context.Context, name string, crit *goimap.SearchCriteria, min uint32) ([]uint32, error) {
	var out []uint32
	err := cl.do(ctx, name, func() error {
		if err := cl.needSelected(); err != nil {
			return err
		}
		var so *goimap.SearchOptions
		if cl.caps.Has(goimap.CapESearch) {
			// ESEARCH answers with ranges ("1:9000"), not 9000 numbers.
			so = &goimap.SearchOptions{ReturnAll: true}
		}
		d, err := cl.c.UIDSearch(crit, so).Wait()
		if err != nil {
			return err
		}
		set, ok := d.All.(goimap.UIDSet)
		if !ok {
			return nil // no matches
		}
		uids, ok := set.Nums()
		if !ok {
			return errors.New("server answered SEARCH with a dynamic set")
		}
		out = make([]uint32, 0, len(uids))
		for _, u := range uids {
			if uint32(u) >= min {
				out = append(out, uint32(u))
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return nil
	})
	return out, err
}

// Message is one fetched message. Body streams the raw message
// (BODY.PEEK[]) exactly as the server holds it; it is valid only during
// the callback and need not be read to the end.
type Message struct {
	UID          uint32
	InternalDate time.Time
	Flags        []string
	Size         int64
	// ModSeq is 0 without CONDSTORE.
	ModSeq uint64
	Body   io.Reader
}

// Seen reports whether Flags hold \Seen.
func (m Message) Seen() bool { return hasFlag(m.Flags, string(goimap.FlagSeen)) }

func hasFlag(flags []string, f string) bool {
	for _, x := range flags {
		if x == f {
			return true
		}
	}
	return false
}

// Fetch streams the messages with the given UIDs of the examined folder to
// fn in ascending UID order, asking for batches of UIDs at a time
// (WithFetchBatch), so a folder is never held in memory: each message's
// body is read from the connection while fn runs. UIDs that no longer exist
// are skipped. BODY.PEEK never sets \Seen. An error from fn stops the fetch
// and is returned as is.
func (cl *Client) Fetch(ctx context.Context, uids []uint32, fn func(Message) error) error {
	sorted := append([]uint32(nil), uids...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	var fnErr error
	err := cl.do(ctx, "fetch", func() error {
		if err := cl.needSelected(); err != nil {
			return err
		}
		opts := &goimap.FetchOptions{
			UID: true, Flags: true, InternalDate: true, RFC822Size: true,
			ModSeq:      cl.caps.Has(goimap.CapCondStore),
			BodySection: []*goimap.FetchItemBodySection{{Peek: true}},
		}
		for len(sorted) > 0 {
			n := min(cl.opts.fetchBatch, len(sorted))
			var set goimap.UIDSet
			for _, u := range sorted[:n] {
				set.AddNum(goimap.UID(u))
			}
			sorted = sorted[n:]
			cmd := cl.c.Fetch(set, opts)
			for {
				md := cmd.Next()
				if md == nil {
					break
				}
				if err := streamMessage(md, opts.ModSeq, fn); err != nil {
					fnErr = err
					// The rest of the batch must still be read off the
					// connection before it can be used again.
					_ = cmd.Close()
					return err
				}
			}
			if err := cmd.Close(); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	if fnErr != nil && ctx.Err() == nil {
		return fnErr
	}
	return err
}

// streamMessage hands one FETCH response to fn. Servers send the body
// literal last (Dovecot does), and then it streams; if one sends it before
// metadata, it is buffered so fn still sees every field.
func streamMessage(md *imapclient.FetchMessageData, wantModSeq bool, fn func(Message) error) error {
	var (
		m                                                  Message
		haveUID, haveDate, haveSize, haveFlags, haveModSeq bool
		body                                               []byte
		gotBody                                            bool
	)
	complete := func() bool {
		return haveUID && haveDate && haveSize && haveFlags && (haveModSeq || !wantModSeq)
	}
	for {
		item := md.Next()
		if item == nil {
			break
		}
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			m.UID, haveUID = uint32(it.UID), true
		case imapclient.FetchItemDataInternalDate:
			m.InternalDate, haveDate = it.Time, true
		case imapclient.FetchItemDataRFC822Size:
			m.Size, haveSize = it.Size, true
		case imapclient.FetchItemDataFlags:
			m.Flags, haveFlags = flagStrings(it.Flags), true
		case imapclient.FetchItemDataModSeq:
			m.ModSeq, haveModSeq = it.ModSeq, true
		case imapclient.FetchItemDataBodySection:
			gotBody = true
			var r io.Reader = bytes.NewReader(nil)
			if it.Literal != nil {
				r = it.Literal
			}
			if complete() {
				m.Body = r
				return fn(m)
			}
			b, err := io.ReadAll(r)
			if err != nil {
				return fmt.Errorf("read message body: %w", err)
			}
			body = b
		}
	}
	if !gotBody || !haveUID {
		// A FETCH without the body: an unsolicited flag update that came
		// in between. Not a message to hand over.
		return nil
	}
	m.Body = bytes.NewReader(body)
	return fn(m)
}

func flagStrings(fl []goimap.Flag) []string {
	out := make([]string, len(fl))
	for i, f := range fl {
		out[i] = string(f)
	}
	return out
}

// Change is one message's flags after a change.
type Change struct {
	UID    uint32
	Flags  []string
	ModSeq uint64
}

// ChangedSince returns the messages of the examined folder whose flags
// changed after modseq (UID FETCH 1:* (FLAGS) (CHANGEDSINCE modseq)). A
// server without CONDSTORE cannot say what changed: then every message's
// flags are returned (ModSeq 0) and the caller compares them with what it
// has.
func (cl *Client) ChangedSince(ctx context.Context, modseq uint64) ([]Change, error) {
	var out []Change
	err := cl.do(ctx, "fetch changedsince", func() error {
		if err := cl.needSelected(); err != nil {
			return err
		}
		cond := cl.caps.Has(goimap.CapCondStore)
		opts := &goimap.FetchOptions{UID: true, Flags: true, ModSeq: cond}
		if cond {
			opts.ChangedSince = modseq
		}
		var all goimap.UIDSet
		all.AddRange(1, 0)
		msgs, err := cl.c.Fetch(all, opts).Collect()
		if err != nil {
			return err
		}
		for _, m := range msgs {
			out = append(out, Change{UID: uint32(m.UID), Flags: flagStrings(m.Flags), ModSeq: m.ModSeq})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
		return nil
	})
	return out, err
}

// Append stores raw in folder with flags and the INTERNALDATE date (the
// server's now when zero) — e.g. a sent letter into Sent with \Seen. With
// UIDPLUS it returns the new message's UID and the folder's UIDVALIDITY,
// else zeros.
func (cl *Client) Append(ctx context.Context, folder string, flags []string, date time.Time, raw []byte) (uid, uidValidity uint32, err error) {
	err = cl.do(ctx, "append", func() error {
		fl := make([]goimap.Flag, len(flags))
		for i, f := range flags {
			fl[i] = goimap.Flag(f)
		}
		cmd := cl.c.Append(folder, int64(len(raw)), &goimap.AppendOptions{Flags: fl, Time: date})
		if _, err := cmd.Write(raw); err != nil {
			cmd.Close()
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		d, err := cmd.Wait()
		if err != nil {
			return err
		}
		uid, uidValidity = uint32(d.UID), d.UIDValidity
		return nil
	})
	return uid, uidValidity, err
}
