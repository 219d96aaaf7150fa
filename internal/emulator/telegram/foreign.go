package telegram

import (
	"errors"
	"time"
)

// "Token used elsewhere": another program that has the bot's token and
// uses it at the same time as Tandem. Telegram lets one consumer have the
// updates, so the symptoms Tandem must notice are the real ones:
//
//   - a foreign poller calls getUpdates in a loop. It takes the pending
//     updates (they never reach Tandem), and each of its calls ends
//     Tandem's waiting getUpdates with 409 "Conflict: terminated by other
//     getUpdates request; make sure that only one bot instance is
//     running" — as Tandem's next long poll in turn ends the other's.
//   - a foreign webhook is the other program's setWebhook: getWebhookInfo
//     shows its URL, Tandem's getUpdates answers 409 "Conflict: can't use
//     getUpdates method while webhook is active; …", and the updates go
//     to the other program (the emulator consumes them; nothing is
//     posted). A setWebhook or deleteWebhook by Tandem replaces it.

// SetForeignWebhook has another program set the bot's webhook to url (no
// checks: it is theirs); "" has it delete its webhook.
func (s *Server) SetForeignWebhook(token, url string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.botLocked(token)
	if err != nil {
		return err
	}
	if url == "" {
		if b.wh != nil && b.wh.foreign {
			b.wh.halt()
			b.wh = nil
			s.bumpLocked()
		}
		return nil
	}
	b.abortPollLocked(conflictSetWebhook)
	if b.wh != nil {
		b.wh.halt()
	}
	wh := newWebhook(url, "", 40, "")
	wh.foreign = true
	s.startWebhookLocked(b, wh)
	s.bumpLocked()
	return nil
}

// ForeignPoll makes one getUpdates call of the foreign poller: it takes
// every pending update and, unless a webhook is set (then its call fails
// and nothing changes), ends Tandem's waiting getUpdates with the 409 and
// waits in its place.
func (s *Server) ForeignPoll(token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.botLocked(token)
	if err != nil {
		return err
	}
	s.foreignPollLocked(b)
	return nil
}

func (s *Server) foreignPollLocked(b *bot) {
	if b.wh != nil {
		return
	}
	for _, it := range b.q.items {
		if !it.done {
			s.forgetLocked(b, it)
			b.foreignReceived++
		}
	}
	s.expireLocked(b, s.now())
	b.abortPollLocked(conflictOtherPoller)
	b.poll = newLongPoll(true)
	s.bumpLocked()
}

// StartForeignPoller runs ForeignPoll every interval (real time) until
// StopForeign or Close; it replaces a poller already running.
func (s *Server) StartForeignPoller(token string, every time.Duration) error {
	if every <= 0 {
		return errors.New("telegram emulator: the foreign poller needs a positive interval")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.botLocked(token)
	if err != nil {
		return err
	}
	if s.closed {
		return errors.New("telegram emulator: closed")
	}
	if b.foreignStop != nil {
		close(b.foreignStop)
	}
	stop := make(chan struct{})
	b.foreignStop = stop
	s.foreignPollLocked(b)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.mu.Lock()
				select {
				case <-stop:
				default:
					s.foreignPollLocked(b)
				}
				s.mu.Unlock()
			case <-stop:
				return
			case <-s.closing:
				return
			}
		}
	}()
	return nil
}

// StopForeign ends the other program's use of the token: its poller stops
// and its webhook, if it set one, is deleted.
func (s *Server) StopForeign(token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.botLocked(token)
	if err != nil {
		return err
	}
	if b.foreignStop != nil {
		close(b.foreignStop)
		b.foreignStop = nil
	}
	if b.poll != nil && b.poll.foreign {
		b.poll = nil
	}
	if b.wh != nil && b.wh.foreign {
		b.wh.halt()
		b.wh = nil
	}
	s.bumpLocked()
	return nil
}

// ForeignReceived is how many updates the other program took.
func (s *Server) ForeignReceived(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.bots[token]; b != nil {
		return b.foreignReceived
	}
	return 0
}
