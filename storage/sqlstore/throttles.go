package sqlstore

import (
	"context"

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
