package bench

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/mail"
)

// genMail is the team's message generator (peers/gen_mail.py, a copy of
// ../shared/peers/gen_mail.py): mbsync's baseline and Tandem see the same
// messages.
//
//go:embed peers/gen_mail.py
var genMail []byte

// MailOptions size a mail benchmark. Zero values take the defaults.
type MailOptions struct {
	N   int // messages in the INBOX (default 10000)
	New int // messages appended before the incremental load (default 100)
	// NewRounds is how many times New messages are appended and loaded;
	// the median counts (default 3).
	NewRounds int
	Reps      int // timed first loads of each of Tandem and mbsync, alternating (default 3); medians count
	Noops     int // timed loads with nothing new (default 5)
	Idles     int // letters delivered while IDLE watches (default 5)
	// Seed is the generator's seed (default 1, as the peers' run).
	Seed int
	// Dir is where the work folder (Dovecot, the generated mail, Tandem's
	// databases, mbsync's Maildirs) is made; "" for the system's temporary
	// folder. It is removed afterwards unless Keep.
	Dir  string
	Keep bool
	// Python and MBSync are the commands run (default python3 and mbsync;
	// Debian's isync is installed when mbsync is missing and the process
	// is root).
	Python, MBSync string
	// Progress receives phase lines; nil for none.
	Progress io.Writer
	// CPUProfile, when set, receives a CPU profile of Tandem's first timed
	// first load.
	CPUProfile io.Writer
	// NewProfile, when set, receives a CPU profile of the load of the New
	// appended messages.
	NewProfile io.Writer
}

const (
	defaultMailN     = 10000
	defaultMailNew   = 100
	defaultMailReps  = 3
	defaultMailNoops = 5
	defaultNewRounds = 3
	defaultMailIdles = 5
	// mailContacts is how many contacts carry addresses found in the
	// generated mail, so letters link to them on their timelines.
	mailContacts = 5
	// mailUser is the mailbox; the generator addresses its mail to
	// tandem.example.
	mailUser   = "bench@tandem.example"
	mailDomain = "tandem.example"
)

func (o *MailOptions) defaults() {
	if o.N <= 0 {
		o.N = defaultMailN
	}
	if o.New <= 0 {
		o.New = defaultMailNew
	}
	if o.Reps <= 0 {
		o.Reps = defaultMailReps
	}
	if o.Noops <= 0 {
		o.Noops = defaultMailNoops
	}
	if o.NewRounds <= 0 {
		o.NewRounds = defaultNewRounds
	}
	if o.Idles <= 0 {
		o.Idles = defaultMailIdles
	}
	if o.Seed <= 0 {
		o.Seed = 1
	}
	if o.Python == "" {
		o.Python = "python3"
	}
	if o.MBSync == "" {
		o.MBSync = "mbsync"
	}
}

// MailResult holds the figures of a mail benchmark; `tandem bench mail
// --json` prints it. The headline figures come first.
type MailResult struct {
	FirstLoad MailFirstLoad `json:"first_load"`
	// New100MS is the median of NewRounds loads, each after New messages
	// arrived (the field keeps its name when --new is not 100; New says
	// how many).
	New100MS float64 `json:"new100_ms"`
	// NoopMS is the median load with nothing new.
	NoopMS float64 `json:"noop_ms"`
	// IdleLatencyMS is the median time from the APPEND of a letter from a
	// contact (another IMAP connection) to the letter on that contact's
	// timeline, while RunIdle watches the INBOX.
	IdleLatencyMS float64 `json:"idle_latency_ms"`

	N               int       `json:"n"`
	New             int       `json:"new"`
	Reps            int       `json:"reps"`
	Bytes           int64     `json:"bytes"` // of the N generated messages
	WithAttachments int       `json:"with_attachments"`
	Seed            int       `json:"seed"`
	CPUs            int       `json:"cpus"`
	GoVersion       string    `json:"go_version"`
	Started         time.Time `json:"started"`
	LoadAvgStart    string    `json:"loadavg_start"`
	LoadAvgEnd      string    `json:"loadavg_end"`
	Dovecot         string    `json:"dovecot"`
	MBSync          string    `json:"mbsync"`
	GenerateSeconds float64   `json:"generate_seconds"`
	// IndexSeconds is Dovecot's first SELECT of the generated Maildir.
	IndexSeconds float64 `json:"index_seconds"`
	// MBSyncColdSeconds is an untimed-for-the-ratio mbsync pull right
	// after indexing, so every timed run sees a warm server.
	MBSyncColdSeconds float64 `json:"mbsync_cold_seconds"`

	NewRuns  []MailRun `json:"new_runs"`
	NoopRuns []float64 `json:"noop_runs_ms"`
	IdleRuns []float64 `json:"idle_runs_ms"`
	// Contacts carry addresses found in the mail; LinkedLetters is how
	// many letters their timelines show after the first load.
	Contacts      int      `json:"contacts"`
	LinkedLetters int      `json:"linked_letters"`
	Path          string   `json:"path,omitempty"` // the work folder, when kept
	Notes         []string `json:"notes,omitempty"`
}

// MailFirstLoad compares Tandem's first load of the INBOX into a fresh
// store with mbsync's pull of it into a fresh Maildir (medians).
type MailFirstLoad struct {
	MessagesPerSec float64 `json:"messages_per_sec"`
	// RatioToMBSync is Tandem's median time over mbsync's (goal ≤ 1.0).
	RatioToMBSync float64 `json:"ratio_to_mbsync"`
	// PeakRSSMB is the highest of Tandem's runs (VmHWM of this process,
	// reset before each run; Dovecot and mbsync are other processes).
	PeakRSSMB     float64        `json:"peak_rss_mb"`
	Seconds       float64        `json:"seconds"`
	CPUSeconds    float64        `json:"cpu_seconds"`
	MBSyncSeconds float64        `json:"mbsync_seconds"`
	MBSyncCPU     float64        `json:"mbsync_cpu_seconds"`
	Runs          []MailRun      `json:"runs"`
	MBSyncRuns    []MBSyncRun    `json:"mbsync_runs"`
	Stats         mail.LoadStats `json:"stats"` // of the last run
}

// MailRun is one timed Tandem load.
type MailRun struct {
	Seconds        float64 `json:"seconds"`
	MessagesPerSec float64 `json:"messages_per_sec"`
	RSSBeforeMB    float64 `json:"rss_before_mb"`
	PeakRSSMB      float64 `json:"peak_rss_mb"`
	PeakRSSSource  string  `json:"peak_rss_source"`
	CPUSeconds     float64 `json:"cpu_seconds"`
	Stored         int     `json:"stored"`
	Warnings       int     `json:"warnings"` // letters stored with parse warnings
	DatabaseMB     float64 `json:"database_mb,omitempty"`
}

// MBSyncRun is one timed mbsync pull.
type MBSyncRun struct {
	Seconds    float64 `json:"seconds"`
	CPUSeconds float64 `json:"cpu_seconds"`
	Messages   int     `json:"messages"`
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	return b
}

func tailFile(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// medianOf is the median of f over xs (the mean of the middle two for an
// even count); 0 for none.
func medianOf[T any](xs []T, f func(T) float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = f(x)
	}
	slices.Sort(v)
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + m) / 2
	}
	return round(m, 3)
}
