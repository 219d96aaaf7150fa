package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestIsDatabaseError(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		_, err := s.r.ExecContext(context.Background(), "SELECT * FROM no_such_table")
		if err == nil || !IsDatabaseError(fmt.Errorf("list: %w", err)) {
			t.Errorf("driver error %v not recognised", err)
		}
	})
	for _, err := range []error{ErrNotFound, fmt.Errorf("save: %w", ErrConflict)} {
		if !IsDatabaseError(err) {
			t.Errorf("%v not recognised", err)
		}
	}
	if IsDatabaseError(errors.New("remote answered 500")) || IsDatabaseError(nil) {
		t.Error("a foreign error taken for the database's")
	}
}
