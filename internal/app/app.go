// Package app wires a Tandem process together: configuration → secret key →
// store → settings → job queue → HTTP server. It holds no business logic;
// every piece it joins owns its own.
package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/chat/messenger"
	"github.com/tandem-crm/tandem/internal/chat/telegram"
	"github.com/tandem-crm/tandem/internal/config"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/metrics"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/provider"
	davprov "github.com/tandem-crm/tandem/internal/provider/dav"
	googleprov "github.com/tandem-crm/tandem/internal/provider/google"
	"github.com/tandem-crm/tandem/internal/secret"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/signin"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
	"github.com/tandem-crm/tandem/internal/web"
	"github.com/tandem-crm/tandem/internal/web/api"
	"github.com/tandem-crm/tandem/internal/web/hooks"
	"github.com/tandem-crm/tandem/internal/web/ui"
)

// App is one running Tandem process.
type App struct {
	Cfg      *config.Config
	Log      *slog.Logger
	Store    *store.Store
	Box      *secret.Box
	Settings *settings.Service
	OAuth    *oauth.Service  // OAuth flows and connectors' token sources
	Logins   *signin.Service // password sign-in with throttling
	Sync     *syncer.Service
	// Providers are the sync providers this process knows; each is a
	// package registered in Open with one line.
	Providers *provider.Registry
	Queue     *jobs.Queue
	Registry  *jobs.Registry
	Metrics   *metrics.Metrics // what this process's sync runs and hooks did
	Mail      *mail.Service    // the mail provider directory
	Mailboxes *mail.Mailboxes  // users' mailboxes: adding, settings, loading, letters, sending
	// LetterNews tells this process's open mail panels that letters were
	// stored for a mailbox.
	LetterNews *mail.Broker
	// Chat runs omnichannel chats; ChatBus carries their events to every
	// process's operator panels.
	Chat      *chat.Service
	ChatBus   chat.Bus
	Telegram  *telegram.Adapter  // the Telegram channel kind
	Messenger *messenger.Adapter // the Facebook Messenger channel kind

	// stopBus ends the chat event listener (PostgreSQL).
	stopBus func()
	// stopRouter ends the chat router of a serving process.
	stopRouter func()

	jobDB *sql.DB // SQLite only: the job queue's own connection
	// stopIdle ends the mailboxes' IDLE connections (worker processes).
	stopIdle func()
}

// Open connects to the database (running migrations) and loads the key.
// With cfg.MustExist it refuses, creating nothing, a database not set up
// yet (an error wrapping store.ErrNoDatabase) or a missing key (wrapping
// secret.ErrNoKey).
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger) (*App, error) {
	// The database first: its refusal must come before a key file (and
	// the data folder) is created.
	opts := store.Options{SQLitePath: cfg.SQLitePath(), MustExist: cfg.MustExist}
	if cfg.Postgres() {
		opts = store.Options{DatabaseURL: cfg.DatabaseURL, MustExist: cfg.MustExist, WarmPool: cfg.Serving}
	}
	st, err := store.Open(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	loadKey := secret.LoadKey
	if cfg.MustExist {
		loadKey = secret.ReadKey
	}
	key, err := loadKey(cfg.SecretKey, cfg.DataDir)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("load secret key: %w", err)
	}
	box, err := secret.New(key)
	if err != nil {
		st.Close()
		return nil, err
	}
	a := &App{Cfg: cfg, Log: log, Store: st, Box: box, Settings: settings.New(st, box), Registry: jobs.NewRegistry()}
	a.OAuth = oauth.New(st, a.Settings, box, log)
	a.Logins = signin.New(st, log)
	a.Providers = provider.NewRegistry(googleprov.New(a.Settings, a.OAuth, log), davprov.New(st, box, log))
	a.Sync = syncer.New(st, a.Settings, a.Providers, log)
	a.Mail = mail.New(st, box, a.Settings)
	a.Mailboxes = mail.NewMailboxes(st, box, a.Mail, log)
	a.Mailboxes.UseOAuth(a.OAuth) // Gmail and Outlook mailboxes: consent and token refresh
	a.LetterNews = mail.NewBroker()
	a.Mailboxes.Changed = a.LetterNews.Publish
	if st.Postgres() {
		a.ChatBus = chat.NewPGBus(st.PgxPool(), log)
	} else {
		a.ChatBus = chat.NewLocalBus()
	}
	a.Chat = chat.New(st, a.Settings, box, a.ChatBus, log)
	a.Chat.Cases = chat.StoreCases{St: st}
	a.Telegram = telegram.New(a.Chat, log)
	a.Chat.Use(a.Telegram)
	a.Messenger = messenger.New(a.Chat, log)
	a.Chat.Use(a.Messenger)
	a.Metrics = metrics.New()
	a.Sync.Metrics = a.Metrics
	a.registerJobs()
	return a, nil
}

// cleanupArgs is the periodic housekeeping job.
type cleanupArgs struct{}

func (cleanupArgs) Kind() string { return "maintenance.cleanup" }

type cleanupWorker struct {
	river.WorkerDefaults[cleanupArgs]
	st     *store.Store
	logins *signin.Service
	log    *slog.Logger
}

func (w *cleanupWorker) Work(ctx context.Context, _ *river.Job[cleanupArgs]) error {
	n, err := w.st.CleanupSessions(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		w.log.InfoContext(ctx, "expired sessions removed", "count", n)
	}
	if n, err = w.logins.Prune(ctx); err != nil {
		return err
	}
	if n > 0 {
		w.log.InfoContext(ctx, "old sign-in failures removed", "count", n)
	}
	if n, err = w.st.PruneLetters(ctx); err != nil {
		return err
	}
	if n > 0 {
		w.log.InfoContext(ctx, "letters of removed mailboxes deleted", "count", n)
	}
	return nil
}

// registerJobs registers the job kinds this packages own; later
// connectors add theirs to a.Registry before StartQueue.
func (a *App) registerJobs() {
	jobs.Register(a.Registry, &cleanupWorker{st: a.Store, logins: a.Logins, log: a.Log}, nil)
	a.Sync.Register(a.Registry)
	// The queue is opened later (OpenQueue hands it over).
	a.Mailboxes.Register(a.Registry, nil, a.Settings)
	a.Chat.Register(a.Registry)
	a.Registry.AddPeriodic(time.Hour, cleanupArgs{}, &river.InsertOpts{UniqueOpts: jobs.OnePerKey()})
}

// OpenQueue builds the job queue; workers == 0 makes an insert-only queue
// (enqueue and inspect, run nothing).
func (a *App) OpenQueue(ctx context.Context, workers int) error {
	var backend jobs.Backend
	if a.Store.Postgres() {
		backend = jobs.Postgres(a.Store.PgxPool())
	} else {
		db, err := sql.Open("sqlite", "file:"+a.Store.SQLitePath()+
			"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
		if err != nil {
			return fmt.Errorf("open job database: %w", err)
		}
		db.SetMaxOpenConns(1)
		a.jobDB = db
		backend = jobs.SQLite(db)
	}
	if err := jobs.Migrate(ctx, backend); err != nil {
		return fmt.Errorf("migrate job queue: %w", err)
	}
	q, err := jobs.New(ctx, backend, a.Registry, jobs.Options{Workers: workers, Logger: a.Log})
	if err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	a.Queue = q
	a.Sync.Queue = q
	a.Mailboxes.SetQueue(q)
	if workers > 0 {
		// The queue lives until Close stops it, not until ctx (a signal)
		// ends: River's Stop then drains running jobs in order.
		if err := q.Start(context.WithoutCancel(ctx)); err != nil {
			return err
		}
		// Processes that run jobs also hold the mailboxes' IDLE
		// connections (one per mailbox across them, by lease).
		ictx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := a.Mailboxes.RunIdle(ictx); err != nil {
				a.Log.Warn("mail idle", "err", err)
			}
		}()
		// They also long-poll the Telegram bots when there is no SiteUrl
		// for webhooks (one poller per bot across them, by lease).
		tdone := make(chan struct{})
		go func() {
			defer close(tdone)
			if err := a.Telegram.Run(ictx); err != nil {
				a.Log.Warn("telegram polling", "err", err)
			}
		}()
		a.stopIdle = func() { cancel(); <-done; <-tdone }
	}
	return nil
}

// Handler returns the HTTP handler for the UI and API.
func (a *App) Handler() (http.Handler, error) {
	var j api.Jobs
	if a.Queue != nil {
		j = a.Queue
	}
	apiH := api.New(a.Store, a.Settings, j, a.Log).WithSync(a.Sync).WithLogins(a.Logins).WithMail(a.Mail).WithMailboxes(a.Mailboxes).WithChat(a.Chat).WithProviders(a.Providers)
	u, err := ui.New(ui.Deps{Store: a.Store, Settings: a.Settings, OAuth: a.OAuth, Sync: a.Sync, Providers: a.Providers,
		Jobs: j, Log: a.Log, Mail: a.Mail, Mailboxes: a.Mailboxes, LetterNews: a.LetterNews, Chat: a.Chat, ChatBus: a.ChatBus,
		Telegram: a.Telegram, Messenger: a.Messenger})
	if err != nil {
		return nil, err
	}
	if b, ok := a.ChatBus.(*chat.PGBus); ok && a.stopBus == nil {
		// Operator panels on this server hear chat events from every
		// process.
		bctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); b.Listen(bctx) }()
		a.stopBus = func() { cancel(); <-done }
	}
	if a.stopRouter == nil {
		// New chats that webhooks deliver here are offered off the
		// webhook's path.
		rctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); a.Chat.RunRouter(rctx) }()
		a.stopRouter = func() { cancel(); <-done }
	}
	hk := &hooks.Hooks{Chat: a.Chat, Providers: a.Providers, Notifier: a.Sync, Unknown: syncer.ErrUnknownSubscription,
		BadSecret: syncer.ErrBadSecret, Log: a.Log, Metrics: a.Metrics}
	srv := web.New(a.Store, a.Logins, apiH, u, a.Log, hk)
	// The server reports the database-wide gauges too: there is one server
	// (or one per replica, each telling the same), while workers come and go.
	collectors := []prometheus.Collector{metrics.NewConnectionsCollector(a.Store)}
	if a.Queue != nil {
		collectors = append(collectors, metrics.NewJobsCollector(a.Queue))
	}
	if err := a.registerMetrics(srv.Registry, collectors...); err != nil {
		return nil, err
	}
	return srv, nil
}

// MetricsHandler serves /metrics for a process without the web server (a
// `tandem worker`): the Go runtime and what this process's sync runs did.
// The queue and connection gauges are the server's to report.
func (a *App) MetricsHandler() (http.Handler, error) {
	reg := metrics.NewRegistry()
	if err := a.registerMetrics(reg); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(reg, a.Log))
	return mux, nil
}

func (a *App) registerMetrics(reg prometheus.Registerer, extra ...prometheus.Collector) error {
	if err := a.Metrics.Register(reg); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	for _, c := range extra {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	return nil
}

// ErrAddrInUse: another program (perhaps another Tandem) listens on the
// address.
var ErrAddrInUse = errors.New("address already in use")

// Listen opens the HTTP server's address. A taken port is reported as
// ErrAddrInUse with a hint, since the bare "bind: address already in use"
// leaves a new user guessing what to do.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("listen on %s: %w: another program (perhaps another Tandem) uses this port; choose another address with --addr", addr, ErrAddrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}

// ShutdownTimeout bounds how long Serve waits for requests in flight once
// its context ends.
const ShutdownTimeout = 20 * time.Second

// Serve serves the UI and API on ln until ctx ends, then shuts the server
// down gracefully. The job queue keeps running: Close stops it.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	h, err := a.Handler()
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	return srv.Shutdown(shutCtx)
}

// EnsureAdmin creates the first administrator on an empty database: from
// TANDEM_ADMIN_EMAIL/PASSWORD, or admin@localhost with a random password
// printed once to out.
func (a *App) EnsureAdmin(ctx context.Context, out io.Writer) error {
	n, err := a.Store.CountUsers(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	email, password, generated := a.Cfg.AdminEmail, a.Cfg.AdminPassword, false
	if email == "" {
		email = "admin@localhost"
	}
	if password == "" {
		password = strings.TrimPrefix(access.NewToken(""), "")[:20]
		generated = true
	}
	role := &access.Role{Name: "Administrators", Description: "Full administration rights", Ops: access.Operations}
	if err := a.Store.SaveRole(ctx, role); err != nil {
		return fmt.Errorf("create administrators role: %w", err)
	}
	u := &access.User{Email: email, Name: "Administrator", Active: true, RoleIDs: []string{role.ID}}
	if err := a.Store.CreateUser(ctx, u, password); err != nil {
		var ve interface{ Error() string }
		if errors.As(err, &ve) {
			return fmt.Errorf("create administrator %s: %w", email, err)
		}
		return err
	}
	if generated {
		fmt.Fprintf(out, "\n  Created administrator %s with password: %s\n  (shown once; change it under Profile)\n\n", email, password)
	} else {
		a.Log.Info("created administrator", "email", email)
	}
	return nil
}

// Close stops the queue and closes the database.
func (a *App) Close(ctx context.Context) {
	if a.stopRouter != nil {
		a.stopRouter()
	}
	if a.stopBus != nil {
		a.stopBus()
	}
	if a.stopIdle != nil {
		a.stopIdle()
	}
	defer a.Mailboxes.CloseConns()
	if a.Queue != nil {
		if err := a.Queue.Stop(ctx); err != nil {
			a.Log.Warn("stop job queue", "err", err)
		}
	}
	if a.jobDB != nil {
		a.jobDB.Close()
	}
	if b, ok := a.ChatBus.(*chat.PGBus); ok {
		b.Close() // after the queue, whose jobs publish; before the pool closes
	}
	a.Store.Close()
}
