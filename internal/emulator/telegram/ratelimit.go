package telegram

import (
	"math"
	"time"
)

// RateLimits are the flood limits on the send methods (sendMessage,
// sendPhoto, sendDocument), after Telegram's published soft limits (apis.md
// §6): about one message a second to a chat with short bursts, twenty a
// minute to a group, about thirty a second overall. The real limits are
// unpublished and dynamic; these are token buckets on Options.Now. A send
// over a limit answers 429 "Too Many Requests: retry after N" with
// parameters.retry_after and a Retry-After header, N being the whole
// seconds until it would pass, and sends nothing. Zero turns a limit off.
type RateLimits struct {
	// PerChat is the sustained rate to one chat, in messages a second,
	// and PerChatBurst how many may go at once.
	PerChat      float64 `json:"perChat"`
	PerChatBurst int     `json:"perChatBurst"`
	// PerGroupPerMinute is the rate to one group or supergroup.
	PerGroupPerMinute int `json:"perGroupPerMinute"`
	// Global is the bot's sustained rate over all chats, a second, and
	// GlobalBurst its burst.
	Global      float64 `json:"global"`
	GlobalBurst int     `json:"globalBurst"`
	// SetWebhook allows one setWebhook with a URL a second (429 retry
	// after 1 otherwise), as the real server.
	SetWebhook bool `json:"setWebhook"`
}

// DefaultRateLimits are the limits a new emulator enforces: 1 message a
// second per chat with bursts of 3, 20 a minute per group, 30 a second
// overall with bursts of 30, one setWebhook a second.
func DefaultRateLimits() RateLimits {
	return RateLimits{PerChat: 1, PerChatBurst: 3, PerGroupPerMinute: 20, Global: 30, GlobalBurst: 30, SetWebhook: true}
}

// RateLimits returns the limits in force.
func (s *Server) RateLimits() RateLimits {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits
}

// SetRateLimits replaces the limits (and forgets what was spent).
func (s *Server) SetRateLimits(l RateLimits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = l
	for _, b := range s.bots {
		b.buckets = newBuckets()
	}
}

// bucket is a token bucket; a new one is full.
type bucket struct {
	tokens float64
	at     time.Time
	used   bool
}

// wait is how long until a token is there (0: now), after refilling.
func (bk *bucket) wait(now time.Time, rate float64, burst int) time.Duration {
	capacity := float64(burst)
	if capacity < 1 {
		capacity = math.Max(1, math.Ceil(rate))
	}
	if !bk.used {
		bk.tokens, bk.at, bk.used = capacity, now, true
	}
	if el := now.Sub(bk.at).Seconds(); el > 0 {
		bk.tokens = math.Min(capacity, bk.tokens+el*rate)
		bk.at = now
	}
	if bk.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - bk.tokens) / rate * float64(time.Second))
}

type buckets struct {
	global bucket
	chats  map[int64]*bucket
	groups map[int64]*bucket
}

func newBuckets() buckets {
	return buckets{chats: map[int64]*bucket{}, groups: map[int64]*bucket{}}
}

func (bs *buckets) chat(m map[int64]*bucket, id int64) *bucket {
	bk := m[id]
	if bk == nil {
		bk = &bucket{}
		m[id] = bk
	}
	return bk
}

// rateLimitLocked spends a send to the chat, or answers 429 without
// spending anything.
func (s *Server) rateLimitLocked(b *bot, c *chat) *apiError {
	l := s.limits
	now := s.now()
	type spend struct {
		bk    *bucket
		rate  float64
		burst int
	}
	var checks []spend
	if l.Global > 0 {
		checks = append(checks, spend{&b.buckets.global, l.Global, l.GlobalBurst})
	}
	if l.PerChat > 0 {
		checks = append(checks, spend{b.buckets.chat(b.buckets.chats, c.wire.ID), l.PerChat, l.PerChatBurst})
	}
	if l.PerGroupPerMinute > 0 && c.wire.Type != "private" {
		checks = append(checks, spend{b.buckets.chat(b.buckets.groups, c.wire.ID), float64(l.PerGroupPerMinute) / 60, l.PerGroupPerMinute})
	}
	var longest time.Duration
	for _, ch := range checks {
		longest = max(longest, ch.bk.wait(now, ch.rate, ch.burst))
	}
	if longest > 0 {
		return tooManyRequests(int(math.Ceil(longest.Seconds())))
	}
	for _, ch := range checks {
		ch.bk.tokens--
	}
	return nil
}
