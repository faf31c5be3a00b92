package sqlstore

import (
	"time"

	"gorm.io/gorm"
)

// The schema as of migration 0001, frozen. Do not edit these types when a
// model changes: add a migration instead (see the package doc).

type v1User struct {
	ID            string `gorm:"primaryKey;size:64"`
	Username      string `gorm:"uniqueIndex;size:128;not null"`
	Email         string `gorm:"uniqueIndex;size:320;not null"`
	EmailVerified bool
	Name          string `gorm:"size:256"`
	PasswordHash  string `gorm:"size:256"`
	Disabled      bool
	FailedLogins  int
	LockedUntil   *time.Time
	RequireFace   bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (v1User) TableName() string { return "users" }

type v1Client struct {
	ID                     string   `gorm:"primaryKey;size:128"`
	Name                   string   `gorm:"size:256"`
	SecretHash             string   `gorm:"size:256"`
	RedirectURIs           []string `gorm:"serializer:json"`
	PostLogoutRedirectURIs []string `gorm:"serializer:json"`
	SkipConsent            bool
	RequireFace            bool
	IDTokenAlg             string `gorm:"size:16"`
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

func (v1Client) TableName() string { return "clients" }

type v1AuthRequest struct {
	ID                  string   `gorm:"primaryKey;size:64"`
	ClientID            string   `gorm:"index;size:128;not null"`
	RedirectURI         string   `gorm:"size:2048"`
	Scopes              []string `gorm:"serializer:json"`
	State               string   `gorm:"size:1024"`
	Nonce               string   `gorm:"size:1024"`
	ResponseType        string   `gorm:"size:64"`
	ResponseMode        string   `gorm:"size:64"`
	CodeChallenge       string   `gorm:"size:256"`
	CodeChallengeMethod string   `gorm:"size:16"`
	Prompt              []string `gorm:"serializer:json"`
	MaxAge              *int64
	LoginHint           string   `gorm:"size:320"`
	UILocales           []string `gorm:"serializer:json"`
	Step                string   `gorm:"size:32"`
	BrowserBinding      string   `gorm:"size:128"`
	UserID              string   `gorm:"index;size:64"`
	SessionID           string   `gorm:"size:64"`
	AuthTime            time.Time
	AMR                 []string `gorm:"serializer:json"`
	ACR                 string   `gorm:"size:128"`
	Done                bool
	CodeHash            string `gorm:"index;size:128"`
	CreatedAt           time.Time
	ExpiresAt           time.Time `gorm:"index"`
}

func (v1AuthRequest) TableName() string { return "auth_requests" }

type v1AccessToken struct {
	ID             string   `gorm:"primaryKey;size:64"`
	ClientID       string   `gorm:"index;size:128;not null"`
	UserID         string   `gorm:"index;size:64;not null"`
	Scopes         []string `gorm:"serializer:json"`
	Audience       []string `gorm:"serializer:json"`
	RefreshTokenID string   `gorm:"index;size:64"`
	AuthTime       time.Time
	AMR            []string  `gorm:"serializer:json"`
	ExpiresAt      time.Time `gorm:"index"`
	CreatedAt      time.Time
}

func (v1AccessToken) TableName() string { return "access_tokens" }

type v1RefreshToken struct {
	ID        string   `gorm:"primaryKey;size:64"`
	TokenHash string   `gorm:"uniqueIndex;size:128;not null"`
	FamilyID  string   `gorm:"index;size:64;not null"`
	ClientID  string   `gorm:"index;size:128;not null"`
	UserID    string   `gorm:"index;size:64;not null"`
	Scopes    []string `gorm:"serializer:json"`
	Audience  []string `gorm:"serializer:json"`
	AuthTime  time.Time
	AMR       []string  `gorm:"serializer:json"`
	ACR       string    `gorm:"size:128"`
	ExpiresAt time.Time `gorm:"index"`
	RotatedAt *time.Time
	RevokedAt *time.Time
	CreatedAt time.Time
}

func (v1RefreshToken) TableName() string { return "refresh_tokens" }

type v1Session struct {
	ID        string `gorm:"primaryKey;size:64"`
	UserID    string `gorm:"index;size:64;not null"`
	AuthTime  time.Time
	AMR       []string `gorm:"serializer:json"`
	UserAgent string   `gorm:"size:512"`
	RemoteIP  string   `gorm:"size:64"`
	CreatedAt time.Time
	LastSeen  time.Time
	ExpiresAt time.Time `gorm:"index"`
	RevokedAt *time.Time
}

func (v1Session) TableName() string { return "sessions" }

type v1Consent struct {
	UserID    string   `gorm:"primaryKey;size:64"`
	ClientID  string   `gorm:"primaryKey;size:128"`
	Scopes    []string `gorm:"serializer:json"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (v1Consent) TableName() string { return "consents" }

type v1SigningKey struct {
	ID               string `gorm:"primaryKey;size:64"`
	Algorithm        string `gorm:"size:16;not null"`
	SealedPrivateKey []byte
	CreatedAt        time.Time
	RetiredAt        *time.Time
	RemoveAfter      *time.Time `gorm:"index"`
}

func (v1SigningKey) TableName() string { return "signing_keys" }

type v1FaceTemplate struct {
	UserID    string `gorm:"primaryKey;size:64"`
	KeyID     string `gorm:"index;size:64;not null"`
	Sealed    []byte `gorm:"not null"`
	Samples   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (v1FaceTemplate) TableName() string { return "face_templates" }

type v1FaceChallenge struct {
	ID            string   `gorm:"primaryKey;size:64"`
	AuthRequestID string   `gorm:"index;size:64"`
	SessionID     string   `gorm:"index;size:64"`
	UserID        string   `gorm:"index;size:64;not null"`
	Purpose       string   `gorm:"size:16"`
	Actions       []string `gorm:"serializer:json"`
	CreatedAt     time.Time
	ExpiresAt     time.Time `gorm:"index"`
	UsedAt        *time.Time
}

func (v1FaceChallenge) TableName() string { return "face_challenges" }

type v1AuditEvent struct {
	ID       uint64         `gorm:"primaryKey;autoIncrement"`
	Time     time.Time      `gorm:"index"`
	Type     string         `gorm:"index;size:64;not null"`
	Outcome  string         `gorm:"size:16"`
	UserID   string         `gorm:"index;size:64"`
	ClientID string         `gorm:"size:128"`
	Reason   string         `gorm:"size:256"`
	RemoteIP string         `gorm:"size:64"`
	Details  map[string]any `gorm:"serializer:json"`
}

func (v1AuditEvent) TableName() string { return "audit_events" }

func migrate0001(tx *gorm.DB) error {
	if err := tx.Migrator().CreateTable(
		&v1User{}, &v1Client{}, &v1AuthRequest{}, &v1AccessToken{}, &v1RefreshToken{},
		&v1Session{}, &v1Consent{}, &v1SigningKey{}, &v1FaceTemplate{}, &v1FaceChallenge{},
		&v1AuditEvent{},
	); err != nil {
		return err
	}
	// Logins are case-insensitive, so uniqueness must be too; these also
	// serve GetUserByLogin's lower() lookups.
	for _, stmt := range []string{
		"CREATE UNIQUE INDEX idx_users_username_lower ON users (lower(username))",
		"CREATE UNIQUE INDEX idx_users_email_lower ON users (lower(email))",
		"CREATE INDEX idx_refresh_tokens_user_client ON refresh_tokens (user_id, client_id)",
		"CREATE INDEX idx_access_tokens_user_client ON access_tokens (user_id, client_id)",
	} {
		if err := tx.Exec(stmt).Error; err != nil {
			return err
		}
	}
	return nil
}
