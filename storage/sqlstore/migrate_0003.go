package sqlstore

import (
	"time"

	"gorm.io/gorm"
)

// The tables and columns added by migration 0003 (frozen): passkeys and
// their WebAuthn ceremonies, recovery codes, admin face bypasses, the
// per-client factor policy overrides and the auth requests' acr_values.

type v3Passkey struct {
	ID                string   `gorm:"primaryKey;size:64"`
	UserID            string   `gorm:"index;size:64;not null"`
	CredentialID      []byte   `gorm:"uniqueIndex;not null"`
	PublicKey         []byte   `gorm:"not null"`
	AttestationType   string   `gorm:"size:32"`
	AttestationFormat string   `gorm:"size:32"`
	AAGUID            string   `gorm:"size:36"`
	Transports        []string `gorm:"serializer:json"`
	Attachment        string   `gorm:"size:32"`
	UserVerified      bool
	BackupEligible    bool
	BackupState       bool
	SignCount         int64
	Name              string `gorm:"size:64"`
	CreatedAt         time.Time
	LastUsedAt        *time.Time
}

func (v3Passkey) TableName() string { return "passkeys" }

type v3WebAuthnSession struct {
	ID             string `gorm:"primaryKey;size:64"`
	Purpose        string `gorm:"size:16;not null"`
	AuthRequestID  string `gorm:"index;size:64"`
	BrowserBinding string `gorm:"size:128"`
	UserID         string `gorm:"index;size:64"`
	Data           []byte `gorm:"not null"`
	CreatedAt      time.Time
	ExpiresAt      time.Time `gorm:"index"`
	UsedAt         *time.Time
}

func (v3WebAuthnSession) TableName() string { return "webauthn_sessions" }

type v3RecoveryCode struct {
	UserID    string `gorm:"primaryKey;size:64"`
	CodeHash  string `gorm:"primaryKey;size:64"`
	KeyID     string `gorm:"size:64;not null"`
	SetID     string `gorm:"size:64;not null"`
	CreatedAt time.Time
	UsedAt    *time.Time
}

func (v3RecoveryCode) TableName() string { return "recovery_codes" }

type v3FaceBypass struct {
	ID        string `gorm:"primaryKey;size:64"`
	UserID    string `gorm:"index;size:64;not null"`
	GrantedBy string `gorm:"size:128"`
	Reason    string `gorm:"size:256"`
	CreatedAt time.Time
	ExpiresAt time.Time `gorm:"index"`
	UsedAt    *time.Time
	RevokedAt *time.Time
}

func (v3FaceBypass) TableName() string { return "face_bypasses" }

type v3ClientPolicy struct {
	FirstFactors     []string `gorm:"serializer:json"`
	FaceMode         string   `gorm:"size:16"`
	FaceEnrolment    string   `gorm:"size:16"`
	PasskeySkipsFace *bool
}

func (v3ClientPolicy) TableName() string { return "clients" }

type v3AuthRequestACR struct {
	ACRValues []string `gorm:"serializer:json"`
}

func (v3AuthRequestACR) TableName() string { return "auth_requests" }

func migrate0003(tx *gorm.DB) error {
	if err := tx.Migrator().CreateTable(&v3Passkey{}, &v3WebAuthnSession{}, &v3RecoveryCode{}, &v3FaceBypass{}); err != nil {
		return err
	}
	for _, col := range []string{"FirstFactors", "FaceMode", "FaceEnrolment", "PasskeySkipsFace"} {
		if err := tx.Migrator().AddColumn(&v3ClientPolicy{}, col); err != nil {
			return err
		}
	}
	return tx.Migrator().AddColumn(&v3AuthRequestACR{}, "ACRValues")
}
