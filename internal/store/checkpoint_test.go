package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Committed pages reach the database file by the checkpointer, though no
// commit crossed the writer's own (high) auto-checkpoint line.
func TestCheckpointerCopiesTheLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := Open(ctx, Options{SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE zz_blobs (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	before := fi.Size()
	// 4 MiB: far below writerAutoCheckpoint, so only the checkpointer
	// moves it into the file.
	if _, err := s.w.ExecContext(ctx, `INSERT INTO zz_blobs (b) VALUES (zeroblob(4194304))`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() >= before+4<<20 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes after 30 s, was %d: the log was not checkpointed", fi.Size(), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
