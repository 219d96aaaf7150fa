package store

import (
	"context"
	"fmt"
)

// ConnectionCount is how many connections of a provider have a status.
type ConnectionCount struct {
	Provider string
	Status   ConnectionStatus
	N        int
}

// CountConnections counts connections by provider and status, for the
// connection-health gauge: every status of every provider that has a
// connection (zeros included), in one grouped query.
func (s *Store) CountConnections(ctx context.Context) ([]ConnectionCount, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT provider, status, COUNT(*) FROM connections GROUP BY provider, status ORDER BY provider, status")
	if err != nil {
		return nil, fmt.Errorf("count connections: %w", err)
	}
	defer rows.Close()
	found := map[ConnectionCount]int{} // N unset: the key is provider and status
	var providers []string
	for rows.Next() {
		var c ConnectionCount
		if err := rows.Scan(&c.Provider, &c.Status, &c.N); err != nil {
			return nil, fmt.Errorf("count connections: %w", err)
		}
		if len(providers) == 0 || providers[len(providers)-1] != c.Provider {
			providers = append(providers, c.Provider)
		}
		found[ConnectionCount{Provider: c.Provider, Status: c.Status}] = c.N
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count connections: %w", err)
	}
	var out []ConnectionCount
	for _, p := range providers {
		for _, st := range ConnectionStatuses {
			out = append(out, ConnectionCount{Provider: p, Status: st, N: found[ConnectionCount{Provider: p, Status: st}]})
		}
	}
	return out, nil
}
