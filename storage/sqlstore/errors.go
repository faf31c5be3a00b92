package sqlstore

import (
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/faceidp/faceidp/storage"
)

// wrap maps gorm's translated errors onto the storage sentinels and adds
// what was being done; errors.Is keeps working on the result.
func wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", op, storage.ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%s: %w", op, storage.ErrAlreadyExists)
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

// notFound is the error for an update or delete that matched no row.
func notFound(op string) error { return fmt.Errorf("%s: %w", op, storage.ErrNotFound) }
