package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/faceidp/faceidp/storage"
)

// wrap maps gorm's translated errors onto the storage sentinels and adds
// what was being done; errors.Is keeps working on the result. Anything that
// is not a domain outcome (a closed pool, a refused connection, a failed
// query) is also storage.ErrUnavailable.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound), errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", op, storage.ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%s: %w", op, storage.ErrAlreadyExists)
	case domainErr(err):
		return fmt.Errorf("%s: %w", op, err)
	default:
		return fmt.Errorf("%s: %w: %w", op, storage.ErrUnavailable, err)
	}
}

// domainErr reports errors that are a result for the caller, not a fault.
func domainErr(err error) bool {
	for _, d := range []error{storage.ErrNotFound, storage.ErrAlreadyExists, storage.ErrRefreshTokenReused,
		storage.ErrChallengeUsed, storage.ErrAuthCodeUsed, storage.ErrStale, storage.ErrUnavailable} {
		if errors.Is(err, d) {
			return true
		}
	}
	return false
}

// notFound is the error for an update or delete that matched no row.
func notFound(op string) error { return fmt.Errorf("%s: %w", op, storage.ErrNotFound) }
