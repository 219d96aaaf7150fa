package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tandem-crm/tandem/internal/crm"
)

// GetSetting returns a stored setting value as stored (secrets sealed).
func (s *Store) GetSetting(ctx context.Context, code string) (string, bool, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE code = $1`, code).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("get setting: %w", err)
	}
	return v, true, nil
}

// PutSetting stores a value; deleting (reset to default) when del is true.
func (s *Store) PutSetting(ctx context.Context, code, value, actor string, del bool) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE code = $1`, code); err != nil {
			return fmt.Errorf("put setting: %w", err)
		}
		if del {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (code, value, updated_at, updated_by) VALUES ($1, $2, $3, $4)`,
			code, value, crm.Micros(crm.Now()), actor)
		if err != nil {
			return fmt.Errorf("put setting: %w", err)
		}
		return nil
	})
}

// ListSettings returns all stored values by code.
func (s *Store) ListSettings(ctx context.Context) (map[string]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT code, value FROM settings`)
	if err != nil {
		return nil, fmt.Errorf("list settings: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var c, v string
		if err := rows.Scan(&c, &v); err != nil {
			return nil, err
		}
		out[c] = v
	}
	return out, rows.Err()
}
