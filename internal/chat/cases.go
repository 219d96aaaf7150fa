package chat

import (
	"context"
	"errors"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

// StoreCases makes the "Create case" action's cases in the store.
type StoreCases struct{ St *store.Store }

// CreateCaseFromChat makes a new case for the chat's contact, owned by the
// operator. The customer's contact belongs to the channel's contact owner;
// an operator who cannot see it still gets the case linked to it: the
// case is then written on the contact owner's behalf.
func (c StoreCases) CreateCaseFromChat(ctx context.Context, v access.Viewer, chatID, contactID, subject string) (string, error) {
	k := &crm.Case{Subject: subject, ContactID: contactID, SourceChatID: chatID, OwnerID: v.UserID}
	actor := v
	if contactID != "" {
		if _, err := c.St.GetContact(ctx, v, contactID); errors.Is(err, store.ErrNotFound) {
			ch, err := c.St.GetChat(ctx, chatID)
			if err != nil {
				return "", err
			}
			channel, err := c.St.ChatChannel(ctx, ch.ChannelID)
			if err != nil {
				return "", err
			}
			actor = access.Viewer{UserID: channel.ContactOwnerID}
		} else if err != nil {
			return "", err
		}
	}
	if err := c.St.CreateCase(ctx, actor, k); err != nil {
		return "", err
	}
	return k.ID, nil
}
