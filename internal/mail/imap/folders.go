package imap

import (
	"context"
	"sort"
	"strings"

	goimap "github.com/emersion/go-imap/v2"
)

// Special-use attributes (RFC 6154) as Folder.SpecialUse holds them.
const (
	SpecialAll     = `\All`
	SpecialArchive = `\Archive`
	SpecialDrafts  = `\Drafts`
	SpecialFlagged = `\Flagged`
	SpecialJunk    = `\Junk`
	SpecialSent    = `\Sent`
	SpecialTrash   = `\Trash`
)

// Folder is one mailbox of the folder tree.
type Folder struct {
	// Name is the full name as the server spells it (decoded from
	// modified UTF-7), e.g. "Projects/Alpha".
	Name string
	// Delimiter separates levels ("/" or "."); "" for a flat namespace.
	Delimiter string
	// Parent is Name without its last level; "" at the top.
	Parent string
	// SpecialUse is the folder's special-use attribute (SpecialSent, …) or
	// "".
	SpecialUse string
	// NoSelect folders only hold others (\Noselect or \NonExistent).
	NoSelect bool
	// Attrs are every attribute the server listed.
	Attrs []string
}

// Leaf is the last level of Name.
func (f Folder) Leaf() string {
	if f.Delimiter == "" {
		return f.Name
	}
	if i := strings.LastIndex(f.Name, f.Delimiter); i >= 0 {
		return f.Name[i+len(f.Delimiter):]
	}
	return f.Name
}

var specialUses = map[goimap.MailboxAttr]string{
	goimap.MailboxAttrAll: SpecialAll, goimap.MailboxAttrArchive: SpecialArchive,
	goimap.MailboxAttrDrafts: SpecialDrafts, goimap.MailboxAttrFlagged: SpecialFlagged,
	goimap.MailboxAttrJunk: SpecialJunk, goimap.MailboxAttrSent: SpecialSent,
	goimap.MailboxAttrTrash: SpecialTrash,
}

// Folders lists every folder, sorted by name (INBOX first), with their
// special-use attributes when the server offers SPECIAL-USE.
func (cl *Client) Folders(ctx context.Context) ([]Folder, error) {
	var out []Folder
	err := cl.do(ctx, "list", func() error {
		var lo *goimap.ListOptions
		if cl.caps.Has(goimap.CapSpecialUse) && cl.caps.Has(goimap.CapListExtended) {
			lo = &goimap.ListOptions{ReturnSpecialUse: true}
		}
		list, err := cl.c.List("", "*", lo).Collect()
		if err != nil {
			return err
		}
		for _, d := range list {
			f := Folder{Name: d.Mailbox}
			if d.Delim != 0 {
				f.Delimiter = string(d.Delim)
				if i := strings.LastIndex(d.Mailbox, f.Delimiter); i > 0 {
					f.Parent = d.Mailbox[:i]
				}
			}
			for _, a := range d.Attrs {
				f.Attrs = append(f.Attrs, string(a))
				switch {
				case strings.EqualFold(string(a), string(goimap.MailboxAttrNoSelect)),
					strings.EqualFold(string(a), string(goimap.MailboxAttrNonExistent)):
					f.NoSelect = true
				}
				for attr, su := range specialUses {
					if strings.EqualFold(string(a), string(attr)) {
						f.SpecialUse = su
					}
				}
			}
			out = append(out, f)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		ii, jj := strings.EqualFold(out[i].Name, "INBOX"), strings.EqualFold(out[j].Name, "INBOX")
		if ii != jj {
			return ii
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// sentNames are the Sent folder's usual names where a server has no
// SPECIAL-USE, most common first.
var sentNames = []string{"Sent", "Sent Items", "Sent Messages", "Sent Mail", "[Gmail]/Sent Mail",
	"INBOX.Sent", "INBOX/Sent", "Отправленные", "Gesendet", "Envoyés", "Enviados", "Posta inviata"}

// PickSent chooses the folder where sent letters go: the one marked \Sent,
// else the first of the common names (case-insensitive, also as the last
// level under any parent). ok is false when there is none.
func PickSent(folders []Folder) (name string, ok bool) {
	for _, f := range folders {
		if f.SpecialUse == SpecialSent && !f.NoSelect {
			return f.Name, true
		}
	}
	for _, want := range sentNames {
		for _, f := range folders {
			if !f.NoSelect && strings.EqualFold(f.Name, want) {
				return f.Name, true
			}
		}
	}
	for _, want := range sentNames {
		for _, f := range folders {
			if !f.NoSelect && strings.EqualFold(f.Leaf(), want) {
				return f.Name, true
			}
		}
	}
	return "", false
}

// SentFolder lists the folders and picks the Sent folder (PickSent).
func (cl *Client) SentFolder(ctx context.Context) (string, bool, error) {
	fs, err := cl.Folders(ctx)
	if err != nil {
		return "", false, err
	}
	name, ok := PickSent(fs)
	return name, ok, nil
}
