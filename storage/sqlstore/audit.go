package sqlstore

import (
	"context"
	"strings"

	"github.com/faceidp/faceidp/models"
	"github.com/faceidp/faceidp/storage"
)

// AppendAudit stores e; a zero Time is set to the store's clock. e.ID is
// assigned by the database.
func (s *Store) AppendAudit(ctx context.Context, e *models.AuditEvent) error {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	normTimes(e)
	return wrap("append audit event", s.write(ctx).Create(e).Error)
}

// ListAudit returns matching events newest first (by time, then insertion
// order); see storage.AuditFilter.
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter) ([]models.AuditEvent, error) {
	q := s.db.WithContext(ctx).Model(&models.AuditEvent{})
	if f.UserID != "" {
		q = q.Where("user_id = ?", f.UserID)
	}
	if f.ClientID != "" {
		q = q.Where("client_id = ?", f.ClientID)
	}
	if f.Outcome != "" {
		q = q.Where("outcome = ?", f.Outcome)
	}
	switch {
	case strings.HasSuffix(f.Type, ".") || strings.HasSuffix(f.Type, "_"):
		q = q.Where(`substr("type", 1, ?) = ?`, len(f.Type), f.Type)
	case f.Type != "":
		q = q.Where(`"type" = ?`, f.Type)
	}
	if !f.Since.IsZero() {
		q = q.Where(`"time" >= ?`, norm(f.Since))
	}
	if !f.Until.IsZero() {
		q = q.Where(`"time" < ?`, norm(f.Until))
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	if f.Offset > 0 {
		if f.Limit <= 0 {
			q = q.Limit(-1)
		}
		q = q.Offset(f.Offset)
	}
	var evs []models.AuditEvent
	if err := q.Order(`"time" DESC, id DESC`).Find(&evs).Error; err != nil {
		return nil, wrap("list audit events", err)
	}
	return normAll(evs), nil
}
