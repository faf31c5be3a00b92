package sqlstore

import (
	"context"
	"fmt"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migrationLockKey is the PostgreSQL advisory lock id held while migrating
// ("faceidp" in ASCII), so two instances starting together do not race.
const migrationLockKey int64 = 0x66616365696470

// migrations is the ordered schema history. Append only; never edit or
// reorder a migration that has shipped.
func migrations() []*gormigrate.Migration {
	return []*gormigrate.Migration{
		{ID: "0001_initial", Migrate: migrate0001},
		{ID: "0002_auth_code_tombstone", Migrate: migrate0002},
		{ID: "0003_passkeys_recovery", Migrate: migrate0003},
		{ID: "0004_factor_throttles", Migrate: migrate0004},
		{ID: "0005_auth_request_hint_subject", Migrate: migrate0005},
		{ID: "0006_admin_roles_service_clients", Migrate: migrate0006},
	}
}

// Migrate brings the schema up to date. It is idempotent and safe to run
// from several processes at once: the whole run is one transaction holding
// a PostgreSQL advisory lock, or SQLite's write lock (BEGIN IMMEDIATE), so a
// second runner waits and then finds nothing to do. DDL is transactional on
// both backends, so a failed migration leaves the schema as it was.
func (s *Store) Migrate(ctx context.Context) error {
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		if s.dialect == DialectPostgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrationLockKey).Error; err != nil {
				return fmt.Errorf("take migration lock: %w", err)
			}
		}
		m := gormigrate.New(tx, &gormigrate.Options{
			TableName:    "schema_migrations",
			IDColumnName: "id",
			IDColumnSize: 255,
			// A newer binary may have migrated further; additive migrations
			// keep older instances working during a rolling upgrade.
			ValidateUnknownMigrations: false,
		}, migrations())
		return m.Migrate()
	})
	if err != nil {
		return fmt.Errorf("migrate %s schema: %w", s.dialect, err)
	}
	return nil
}
