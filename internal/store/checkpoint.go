package store

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// SQLite in WAL mode copies committed pages back into the database file
// (a checkpoint) at the first commit that finds the log over
// wal_autocheckpoint pages, inside that commit: the write that happens to
// cross the line pays for copying and fsyncing everything before it (a
// third of the time of storing a batch of new letters). The checkpointer
// does that work on its own connection instead, off every commit's path;
// a PASSIVE checkpoint waits for no reader or writer. The writer keeps a
// high auto-checkpoint as a bound should the checkpointer fall behind.
const (
	checkpointEvery = 500 * time.Millisecond
	// writerAutoCheckpoint is in pages (4 KiB): 32 MiB of log.
	writerAutoCheckpoint = 8192
)

type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
}

func startCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		// A log with nothing new to copy costs a read of its header: no
		// write, no fsync.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var busy, logFrames, done int
		err := c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logFrames, &done)
		cancel()
		if err != nil {
			slog.Warn("sqlite checkpoint", "err", err)
		}
	}
}

// close stops the checkpointer and closes its connection; SQLite
// checkpoints once more as the last connection to the file closes.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	close(c.stop)
	<-c.done
	return c.db.Close()
}
