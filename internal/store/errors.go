package store

import (
	"database/sql"
	"database/sql/driver"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// IsDatabaseError reports whether err came from the database: an error of
// either driver, a lost or refused connection, or one of the store's own
// errors. For monitoring, which tells Tandem's faults from a remote's.
func IsDatabaseError(err error) bool {
	var se *sqlite.Error
	var pe *pgconn.PgError
	var ce *pgconn.ConnectError
	return errors.As(err, &se) || errors.As(err, &pe) || errors.As(err, &ce) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, sql.ErrTxDone) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrConflict) || errors.Is(err, ErrDuplicate)
}
