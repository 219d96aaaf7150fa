package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/app"
	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/config"
	tgemu "github.com/tandem-crm/tandem/internal/emulator/telegram"
	"github.com/tandem-crm/tandem/internal/store"
)

// ChatOptions size `tandem bench chat`.
type ChatOptions struct {
	Rate      int           // incoming messages a second (default 200)
	Duration  time.Duration // how long they come (default 60 s)
	Operators int           // operators with a live panel (default 20)
	Customers int           // customers the messages are spread over (default 400)
	// Hold is how long an operator keeps a chat before completing it
	// (default 10 s). Every completion frees a place that is offered at
	// once, so it sets how often chats are offered, accepted and
	// completed: 20 operators with 2 places each take 4 chats a second at
	// 10 s, 40 at 1 s (the stress setting; real chats last minutes).
	Hold time.Duration
	// Warmup: before the measured messages, other customers write at the
	// same rate for this long, not measured (0: none, the servers start
	// cold into the burst of new customers; the command's default is 5 s).
	Warmup time.Duration
	// Postgres is a PostgreSQL server URL; with it a second run uses a new
	// database there, with two server processes.
	Postgres string
	DBs      []string // "sqlite", "postgres" (default: both that can run)
	// Serve is the command that runs a Tandem server (this executable with
	// "serve"); its flags are appended.
	Serve    []string
	Progress io.Writer
}

// ChatRun is one database's figures.
type ChatRun struct {
	Servers   int `json:"servers"`
	Operators int `json:"operators"`
	Sent      int `json:"sent"`
	Stored    int `json:"stored"`
	// LatencyMS: from the moment the update is handed to Telegram (the
	// emulator queues it and posts it to the webhook at once) to each
	// operator's SSE event for the stored message.
	LatencyMS ChatLatency `json:"latency_ms"`
	// BySecond is the latency of the messages sent in each second of
	// the run: a start-up burst (every customer new) shows apart from
	// the steady state.
	BySecond []SecondLatency `json:"by_second"`
	// Stages split the latency where it is spent: queued (handed to
	// Telegram → the webhook request went out), webhook (→ Tandem
	// answered it) and announce (→ the operator's SSE event).
	Stages     ChatStages `json:"stages_ms"`
	Deliveries int        `json:"deliveries"` // (message, operator) events received
	// Lost: sent messages not stored, or stored but never announced to an
	// operator of the queue.
	Lost int `json:"lost"`
	// Duplicated: messages stored more than once, or announced twice to
	// the same operator.
	Duplicated int `json:"duplicated"`
	// CapExceeded: samples (every 100 ms, and at the end) that found an
	// operator above SimultaneousChats.
	CapExceeded int `json:"cap_exceeded"`
	Accepted    int `json:"accepted"`  // chats operators took
	Completed   int `json:"completed"` // chats operators completed
}

// ChatLatency is a distribution of latencies in milliseconds.
type ChatLatency struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// ChatStages are the parts of a message's latency.
type ChatStages struct {
	Queued   ChatLatency `json:"queued"`
	Webhook  ChatLatency `json:"webhook"`
	Announce ChatLatency `json:"announce"`
}

// SecondLatency is the latency of one second's messages.
type SecondLatency struct {
	Second  int         `json:"second"`
	Latency ChatLatency `json:"latency_ms"`
}

// ChatResult is `tandem bench chat`'s JSON.
type ChatResult struct {
	RatePerSec  int     `json:"rate_per_sec"`
	Seconds     float64 `json:"seconds"`
	HoldSeconds float64 `json:"hold_seconds"` // how long an operator keeps a chat
	// WarmupSeconds: other customers' messages before the measured ones.
	WarmupSeconds float64  `json:"warmup_seconds"`
	SQLite        *ChatRun `json:"sqlite,omitempty"`
	Postgres      *ChatRun `json:"postgres,omitempty"`
}

func (o *ChatOptions) defaults() {
	if o.Rate <= 0 {
		o.Rate = 200
	}
	if o.Duration <= 0 {
		o.Duration = time.Minute
	}
	if o.Operators <= 0 {
		o.Operators = 20
	}
	if o.Customers <= 0 {
		o.Customers = 400
	}
	if o.Hold <= 0 {
		o.Hold = 10 * time.Second
	}
	if o.Warmup < 0 {
		o.Warmup = 0
	}
	if len(o.DBs) == 0 {
		o.DBs = []string{"sqlite"}
		if o.Postgres != "" {
			o.DBs = append(o.DBs, "postgres")
		}
	}
}

// Chat runs the chat benchmark on each database.
func Chat(ctx context.Context, o ChatOptions) (ChatResult, error) {
	o.defaults()
	res := ChatResult{RatePerSec: o.Rate, Seconds: o.Duration.Seconds(), HoldSeconds: o.Hold.Seconds(), WarmupSeconds: o.Warmup.Seconds()}
	p := &progress{w: o.Progress, start: time.Now()}
	for _, db := range o.DBs {
		switch db {
		case "sqlite":
			run, err := chatRun(ctx, o, p, "", 1)
			if err != nil {
				return res, fmt.Errorf("sqlite: %w", err)
			}
			res.SQLite = run
		case "postgres":
			if o.Postgres == "" {
				return res, errors.New("postgres: no PostgreSQL URL")
			}
			dbURL, drop, err := FreshPostgres(ctx, o.Postgres)
			if err != nil {
				return res, err
			}
			run, err := chatRun(ctx, o, p, dbURL, 2)
			if derr := drop(context.WithoutCancel(ctx)); derr != nil && err == nil {
				err = derr
			}
			if err != nil {
				return res, fmt.Errorf("postgres: %w", err)
			}
			res.Postgres = run
		default:
			return res, fmt.Errorf("unknown database %q", db)
		}
	}
	return res, nil
}

const chatOperatorPassword = "operator-password-1"

// pprofAddr gives server i its own profiler port when TANDEM_PPROF_ADDR
// asks for one (host:port for the first server, port+i for the others),
// so every server of a run can be profiled.
func pprofAddr(i int) string {
	host, port, err := net.SplitHostPort(os.Getenv("TANDEM_PPROF_ADDR"))
	if err != nil {
		return ""
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return ""
	}
	return net.JoinHostPort(host, strconv.Itoa(n+i))
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// chatRun sets Tandem up in this process (users, a queue, the bot's
// channel), closes it, starts servers Tandem processes on the same
// database, connects the operators' panels and sends the messages.
func chatRun(ctx context.Context, o ChatOptions, p *progress, dbURL string, servers int) (*ChatRun, error) {
	dir, err := os.MkdirTemp("", "tandem-bench-chat-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	name := "sqlite"
	if dbURL != "" {
		name = "postgres"
	}
	emu := tgemu.New(tgemu.Options{AllowInsecureWebhooks: true, RateLimits: &tgemu.RateLimits{}, WebhookRetries: 10})
	if _, err := emu.Start(ctx); err != nil {
		return nil, err
	}
	defer emu.Close()
	bot, err := emu.CreateBot(tgemu.BotInfo{Username: "bench_bot", FirstName: "Bench"})
	if err != nil {
		return nil, err
	}
	addrs := make([]string, servers)
	for i := range addrs {
		if addrs[i], err = freePort(); err != nil {
			return nil, err
		}
	}
	p.printf("%s: setting up %d operators, a queue and the bot's channel", name, o.Operators)
	cfg := &config.Config{DataDir: dir, DatabaseURL: dbURL, AdminEmail: "admin@bench.test", AdminPassword: "admin-password-1"}
	a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, err
	}
	ops, channelID, err := chatSetup(ctx, a, o, emu.URL(), "http://"+addrs[0], bot.Token)
	a.Close(ctx)
	if err != nil {
		return nil, err
	}

	for i, addr := range addrs {
		args := append(slices.Clone(o.Serve[1:]), "--addr", addr, "--data", dir, "--workers", "4", "--log-level", "error")
		if dbURL != "" {
			args = append(args, "--database-url", dbURL)
		}
		cmd := exec.CommandContext(ctx, o.Serve[0], args...)
		cmd.Env = os.Environ()
		if pp := pprofAddr(i); pp != "" {
			cmd.Env = append(cmd.Env, "TANDEM_PPROF_ADDR="+pp)
		}
		setParentDeathSignal(cmd)
		logs := &tailBuffer{max: 8 << 10}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start server %d: %w", i, err)
		}
		defer func() {
			cmd.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
			}
		}()
		if err := waitHealthy(ctx, "http://"+addr); err != nil {
			return nil, fmt.Errorf("server %d: %w (%s)", i, err, logs.String())
		}
	}
	p.printf("%s: %d server process(es) up; connecting %d operator panels", name, servers, len(ops))

	run := &ChatRun{Servers: servers, Operators: len(ops)}
	rec := newChatRecorder()
	pctx, stopPanels := context.WithCancel(ctx)
	var pwg sync.WaitGroup
	for i, op := range ops {
		base := "http://" + addrs[i%servers]
		if err := op.login(ctx, base); err != nil {
			stopPanels()
			return nil, fmt.Errorf("operator %s: %w", op.email, err)
		}
		ready := make(chan error, 1)
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			op.panel(pctx, rec, ready)
		}()
		if err := <-ready; err != nil {
			stopPanels()
			return nil, fmt.Errorf("operator %s panel: %w", op.email, err)
		}
	}
	defer func() { stopPanels(); pwg.Wait() }()

	st, err := store.Open(ctx, store.Options{SQLitePath: filepath.Join(dir, "tandem.db"), DatabaseURL: dbURL, MustExist: true})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	capExceeded := atomic.Int64{}
	sctx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if n, err := overCap(sctx, st, 2); err == nil && n > 0 {
				capExceeded.Add(1)
			}
			select {
			case <-sctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()

	p.printf("%s: %d messages a second for %s from %d customers", name, o.Rate, o.Duration, o.Customers)
	if o.Warmup > 0 {
		// Other customers write first, at the same rate, not measured:
		// the servers' connections, PostgreSQL's backends and every cache
		// are warm when the measured customers (all new to Tandem) start.
		p.printf("%s: warming up for %s", name, o.Warmup)
		if err := chatSend(ctx, emu, bot.Token, o, int(o.Warmup.Seconds()*float64(o.Rate)), warmupCustomer, "w%07d", nil); err != nil {
			return nil, err
		}
	}
	total := int(o.Duration.Seconds() * float64(o.Rate))
	sent := make([]time.Time, total)
	start := time.Now()
	if err := chatSend(ctx, emu, bot.Token, o, total, measuredCustomer, "m%07d", sent); err != nil {
		return nil, err
	}
	run.Sent = total
	p.printf("%s: sent in %.1f s; waiting for the last events", name, time.Since(start).Seconds())
	// The last events: until every stored message was announced, or 15 s
	// without progress.
	deadline := time.Now().Add(15 * time.Second)
	last := -1
	for time.Now().Before(deadline) {
		n := rec.count()
		if n != last {
			last, deadline = n, time.Now().Add(15*time.Second)
		}
		if stored, heard, _ := rec.measured(ctx, st, channelID); stored >= total && heard >= total {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	stopSampling()
	<-sampled
	if n, err := overCap(ctx, st, 2); err == nil && n > 0 {
		capExceeded.Add(1)
	}
	run.CapExceeded = int(capExceeded.Load())
	return run, rec.finish(ctx, st, channelID, run, sent, ops, emu.WebhookLog(bot.Token))
}

// The Telegram user ids of the measured customers and of the warm-up's.
const (
	measuredCustomer = 900000
	warmupCustomer   = 700000
)

// chatSend has n messages written to the bot at o.Rate, spread over
// o.Customers customers from user id first on, each text format with its
// index; sent (if not nil) gets when each was handed to Telegram.
func chatSend(ctx context.Context, emu *tgemu.Server, token string, o ChatOptions, n, first int, format string, sent []time.Time) error {
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * time.Second / time.Duration(o.Rate))
		if d := time.Until(due); d > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		c := i % o.Customers
		if sent != nil {
			sent[i] = time.Now()
		}
		if _, err := emu.Write(token, tgemu.Incoming{From: tgemu.User{ID: int64(first + c), FirstName: "Customer", LastName: strconv.Itoa(c)},
			Text: fmt.Sprintf(format, i)}); err != nil {
			return fmt.Errorf("customer writes: %w", err)
		}
	}
	return nil
}

// chatSetup makes the operators (each with a password), a "to the least
// busy" queue they all work, and the bot's channel with its webhook at
// site.
func chatSetup(ctx context.Context, a *app.App, o ChatOptions, tgURL, site, token string) ([]*chatOperator, string, error) {
	if err := a.EnsureAdmin(ctx, io.Discard); err != nil {
		return nil, "", err
	}
	for code, v := range map[string]string{"SiteUrl": site, "TelegramApiUrl": tgURL, "SimultaneousChats": "2"} {
		if err := a.Settings.Put(ctx, code, v, ""); err != nil {
			return nil, "", fmt.Errorf("setting %s: %w", code, err)
		}
	}
	q := &store.ChatQueue{Name: "Bench", Routing: string(chat.RoutingLeastBusy)}
	var ops []*chatOperator
	for i := range o.Operators {
		u := &access.User{Email: fmt.Sprintf("operator%02d@bench.test", i), Name: fmt.Sprintf("Operator %02d", i), Active: true}
		if err := a.Store.CreateUser(ctx, u, chatOperatorPassword); err != nil {
			return nil, "", err
		}
		q.Members = append(q.Members, store.ChatQueueMember{Kind: "user", ID: u.ID})
		ops = append(ops, &chatOperator{id: u.ID, email: u.Email, hold: o.Hold})
	}
	if err := a.Store.SaveChatQueue(ctx, q); err != nil {
		return nil, "", err
	}
	users, err := a.Store.ListUsers(ctx, "admin@bench.test")
	if err != nil || len(users) == 0 {
		return nil, "", fmt.Errorf("admin: %v", err)
	}
	ch, err := a.Telegram.Connect(ctx, token, q.ID, users[0].ID)
	if err != nil {
		return nil, "", fmt.Errorf("connect the bot: %w", err)
	}
	return ops, ch.ID, nil
}

func waitHealthy(ctx context.Context, base string) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("not healthy within a minute")
}

// overCap counts operators holding more chats than capacity.
func overCap(ctx context.Context, st *store.Store, capacity int) (int, error) {
	return st.ChatOperatorsOverCap(ctx, capacity)
}

// measured counts the measured messages stored (not the warm-up's) and
// how many of them an operator heard of.
func (r *chatRecorder) measured(ctx context.Context, st *store.Store, channelID string) (stored, heard int, err error) {
	ms, err := st.ChannelMessages(ctx, channelID, "in")
	if err != nil {
		return 0, 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range ms {
		if benchText.MatchString(m.Body) {
			stored++
			if len(r.seen[m.ID]) > 0 {
				heard++
			}
		}
	}
	return stored, heard, nil
}

// chatOperator is one operator's panel: signed in through the sign-in
// page, listening to the panel's event stream, accepting what is offered
// and completing each chat a moment later so chats keep moving.
type chatOperator struct {
	id, email string
	base      string
	hc        *http.Client
	csrf      string
	hold      time.Duration // how long a chat is kept before completing it
	accepted  atomic.Int64
	completed atomic.Int64
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)"`)

func (op *chatOperator) login(ctx context.Context, base string) error {
	jar, _ := cookiejar.New(nil)
	op.base, op.hc = base, &http.Client{Jar: jar}
	if err := op.readCSRF(ctx, "/login"); err != nil {
		return err
	}
	resp, err := op.hc.PostForm(base+"/login", url.Values{"email": {op.email}, "password": {chatOperatorPassword}, "csrf_token": {op.csrf}})
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if strings.Contains(resp.Request.URL.Path, "/login") {
		return errors.New("sign-in refused")
	}
	return op.readCSRF(ctx, "/chats")
}

func (op *chatOperator) readCSRF(ctx context.Context, path string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, op.base+path, nil)
	resp, err := op.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if m := csrfMeta.FindSubmatch(raw); m != nil {
		op.csrf = string(m[1])
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return nil
}

// panel reads the operator's event stream until ctx ends.
func (op *chatOperator) panel(ctx context.Context, rec *chatRecorder, ready chan<- error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, op.base+chatEventsPath, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := op.hc.Do(req)
	if err != nil {
		ready <- err
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		ready <- fmt.Errorf("event stream: %s", resp.Status)
		return
	}
	ready <- nil
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			continue
		}
		at := time.Now()
		var e chat.Event
		if json.Unmarshal([]byte(strings.TrimSpace(data)), &e) != nil {
			continue
		}
		if e.Type == chat.EventMessage && e.MessageID != "" {
			rec.add(e.MessageID, op.id, at)
		}
		if e.Type == chat.EventOffered && e.OperatorID == op.id {
			go op.take(ctx, e.ChatID)
		}
	}
}

// take accepts an offered chat and completes it op.hold later.
func (op *chatOperator) take(ctx context.Context, chatID string) {
	if op.post(ctx, "/chats/"+chatID+"/accept") != nil {
		return
	}
	op.accepted.Add(1)
	select {
	case <-ctx.Done():
		return
	case <-time.After(op.hold):
	}
	if op.post(ctx, "/chats/"+chatID+"/complete") == nil {
		op.completed.Add(1)
	}
}

func (op *chatOperator) post(ctx context.Context, path string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, op.base+path, strings.NewReader(url.Values{"csrf_token": {op.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", op.base)
	resp, err := op.hc.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("POST %s: %s", path, resp.Status)
	}
	return nil
}

// chatEventsPath is the operator panel's event stream.
const chatEventsPath = "/chats/events"

// chatRecorder keeps, per stored message, when each operator heard of it.
type chatRecorder struct {
	mu   sync.Mutex
	seen map[string]map[string][]time.Time // message id → operator → arrivals
	n    int
}

func newChatRecorder() *chatRecorder { return &chatRecorder{seen: map[string]map[string][]time.Time{}} }

func (r *chatRecorder) add(msgID, op string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.seen[msgID]
	if m == nil {
		m = map[string][]time.Time{}
		r.seen[msgID] = m
	}
	m[op] = append(m[op], at)
	r.n++
}

func (r *chatRecorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

var benchText = regexp.MustCompile(`^m(\d{7})$`)

// finish matches what was stored with what was sent and heard.
func (r *chatRecorder) finish(ctx context.Context, st *store.Store, channelID string, run *ChatRun, sent []time.Time, ops []*chatOperator, hooks []tgemu.WebhookAttempt) error {
	for _, op := range ops {
		run.Accepted += int(op.accepted.Load())
		run.Completed += int(op.completed.Load())
	}
	storedIdx := map[int]int{}
	msgOf := map[string]int{}
	ms, err := st.ChannelMessages(ctx, channelID, "in")
	if err != nil {
		return err
	}
	delivered := map[string]tgemu.WebhookAttempt{}
	for _, h := range hooks {
		if h.Status == http.StatusOK {
			delivered[strconv.FormatInt(h.UpdateID, 10)] = h
		}
	}
	hookOf := map[string]tgemu.WebhookAttempt{}
	for _, m := range ms {
		g := benchText.FindStringSubmatch(m.Body)
		if g == nil {
			continue
		}
		i, _ := strconv.Atoi(g[1])
		storedIdx[i]++
		msgOf[m.ID] = i
		if h, ok := delivered[m.ExternalID]; ok {
			hookOf[m.ID] = h
		}
	}
	r.score(run, sent, msgOf, storedIdx)
	r.stages(run, sent, msgOf, hookOf)
	return nil
}

// stages fills run.Stages from the webhook attempt that delivered each
// stored message.
func (r *chatRecorder) stages(run *ChatRun, sent []time.Time, msgOf map[string]int, hookOf map[string]tgemu.WebhookAttempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	var queued, webhook, announce []float64
	for id, h := range hookOf {
		i := msgOf[id]
		queued = append(queued, ms(h.Posted.Sub(sent[i])))
		webhook = append(webhook, ms(h.At.Sub(h.Posted)))
		for _, arrivals := range r.seen[id] {
			announce = append(announce, ms(arrivals[0].Sub(h.At)))
		}
	}
	run.Stages = ChatStages{Queued: percentiles(queued), Webhook: percentiles(webhook), Announce: percentiles(announce)}
}

// score fills run's latencies, losses and duplicates: msgOf maps stored
// message ids to the index of the sent message, storedIdx counts how
// often each index was stored.
func (r *chatRecorder) score(run *ChatRun, sent []time.Time, msgOf map[string]int, storedIdx map[int]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var lat []float64
	bySecond := map[int][]float64{}
	heard := map[int]bool{}
	for id, byOp := range r.seen {
		i, ok := msgOf[id]
		if !ok || i >= len(sent) {
			continue
		}
		heard[i] = true
		for _, arrivals := range byOp {
			if len(arrivals) > 1 {
				run.Duplicated++
			}
			ms := float64(arrivals[0].Sub(sent[i])) / float64(time.Millisecond)
			lat = append(lat, ms)
			sec := int(sent[i].Sub(sent[0]) / time.Second)
			bySecond[sec] = append(bySecond[sec], ms)
			run.Deliveries++
		}
	}
	for i := range sent {
		switch n := storedIdx[i]; {
		case n == 0:
			run.Lost++
		case n > 1:
			run.Duplicated += n - 1
			fallthrough
		default:
			run.Stored++
			if !heard[i] {
				run.Lost++
			}
		}
	}
	run.LatencyMS = percentiles(lat)
	if len(sent) > 0 {
		for sec := range int(sent[len(sent)-1].Sub(sent[0])/time.Second) + 1 {
			run.BySecond = append(run.BySecond, SecondLatency{Second: sec, Latency: percentiles(bySecond[sec])})
		}
	}
}

// percentiles are p50, p99 and max of ms (sorted in place).
func percentiles(ms []float64) ChatLatency {
	var l ChatLatency
	slices.Sort(ms)
	if len(ms) > 0 {
		l.P50 = round(ms[len(ms)/2], 1)
		l.P99 = round(ms[min(len(ms)-1, len(ms)*99/100)], 1)
		l.Max = round(ms[len(ms)-1], 1)
	}
	return l
}
