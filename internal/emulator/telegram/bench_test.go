package telegram

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkWebhookThroughput pushes customer messages (100 chats) through
// the webhook path to a receiver that answers at once: the ceiling the
// 200 messages/s chat benchmark relies on.
//
//	go test ./internal/emulator/telegram/ -run - -bench WebhookThroughput -benchtime 20000x
func BenchmarkWebhookThroughput(b *testing.B) {
	srv := New(Options{AllowInsecureWebhooks: true, RateLimits: &RateLimits{}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := srv.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	bot, _ := srv.CreateBot(BotInfo{})
	var got atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got.Add(1) == target {
			close(done)
		}
	}))
	defer rcv.Close()
	srv.mu.Lock()
	bt := srv.bots[bot.Token]
	srv.mu.Unlock()
	if _, aerr := srv.setWebhook(ctx, bt, &params{v: map[string]string{"url": rcv.URL, "secret_token": "s"}}); aerr != nil {
		b.Fatal(aerr)
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if _, err := srv.Write(bot.Token, Incoming{From: User{ID: int64(10000 + i%100), FirstName: "C"}, Text: "hello"}); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("delivered %d of %d", got.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
