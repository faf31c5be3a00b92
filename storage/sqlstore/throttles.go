package sqlstore

import (
	"context"
	"errors"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/faceidp/faceidp/models"
)

// GetThrottle returns one counter.
func (s *Store) GetThrottle(ctx context.Context, subject, factor string) (*models.FactorThrottle, error) {
	var t models.FactorThrottle
	err := s.db.WithContext(ctx).Where("subject = ? AND factor = ?", subject, factor).Take(&t).Error
	if err != nil {
		return nil, wrap("get throttle "+factor, err)
	}
	normTimes(&t)
	return &t, nil
}

// errFnAborted carries fn's own error out of the transaction untouched.
type errFnAborted struct{ err error }

func (e *errFnAborted) Error() string { return e.err.Error() }

// UpdateThrottle is a read-modify-write under an exclusive hold of the row.
// The row is first inserted if missing (INSERT ... ON CONFLICT DO NOTHING),
// so there is always a row to lock: on PostgreSQL SELECT ... FOR UPDATE
// then makes concurrent updaters of the same counter queue; SQLite
// transactions take the database write lock at BEGIN (_txlock=immediate),
// which serialises them anyway.
func (s *Store) UpdateThrottle(ctx context.Context, subject, factor string, fn func(t *models.FactorThrottle) error) (*models.FactorThrottle, error) {
	var out models.FactorThrottle
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		seed := models.FactorThrottle{Subject: subject, Factor: factor}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&seed).Error; err != nil {
			return err
		}
		q := tx.Where("subject = ? AND factor = ?", subject, factor)
		if s.dialect == DialectPostgres {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var t models.FactorThrottle
		if err := q.Take(&t).Error; err != nil {
			return err
		}
		normTimes(&t)
		if err := fn(&t); err != nil {
			return &errFnAborted{err}
		}
		t.Subject, t.Factor = subject, factor
		normTimes(&t)
		res := tx.Model(&models.FactorThrottle{}).Where("subject = ? AND factor = ?", subject, factor).
			Select("*").Omit("subject", "factor").Updates(&t)
		if res.Error != nil {
			return res.Error
		}
		out = t
		return nil
	})
	var aborted *errFnAborted
	if errors.As(err, &aborted) {
		return nil, aborted.err
	}
	if err != nil {
		return nil, wrap("update throttle "+factor, err)
	}
	normTimes(&out)
	return &out, nil
}

// DeleteThrottle removes one counter.
func (s *Store) DeleteThrottle(ctx context.Context, subject, factor string) error {
	err := s.write(ctx).Where("subject = ? AND factor = ?", subject, factor).Delete(&models.FactorThrottle{}).Error
	return wrap("delete throttle "+factor, err)
}

// DeleteUserThrottles removes the counters of a user for one factor or all.
func (s *Store) DeleteUserThrottles(ctx context.Context, userID, factor string) (int64, error) {
	if userID == "" {
		return 0, nil // "" marks counters that belong to no user
	}
	q := s.write(ctx).Where("user_id = ?", userID)
	if factor != "" {
		q = q.Where("factor = ?", factor)
	}
	res := q.Delete(&models.FactorThrottle{})
	return res.RowsAffected, wrap("delete throttles of user "+userID, res.Error)
}

// ListUserThrottles returns the counters of a user.
func (s *Store) ListUserThrottles(ctx context.Context, userID string) ([]models.FactorThrottle, error) {
	var ts []models.FactorThrottle
	if userID == "" {
		return ts, nil
	}
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("factor, subject").Find(&ts).Error
	if err != nil {
		return nil, wrap("list throttles of user "+userID, err)
	}
	return normAll(ts), nil
}

// ListFailingThrottles returns the counters with failures, latest first.
func (s *Store) ListFailingThrottles(ctx context.Context, limit int) ([]models.FactorThrottle, error) {
	var ts []models.FactorThrottle
	err := s.db.WithContext(ctx).Where("failures > 0").Order("last_failure_at DESC, subject, factor").Limit(limit).Find(&ts).Error
	if err != nil {
		return nil, wrap("list failing throttles", err)
	}
	return normAll(ts), nil
}
