package storagetest

import (
	"testing"

	"github.com/faceidp/faceidp/storage"
)

var moreTests = []struct {
	name string
	fn   func(t *testing.T, s storage.Storage)
}{
	{"ThrottleCRUD", testThrottleCRUD},
	{"AdminSearchUsers", testSearchUsers},
	{"AdminUpdateClient", testUpdateClient},
	{"AdminAuditFilters", testAuditFilters},
	{"AdminFailingThrottles", testFailingThrottles},
	{"ThrottleConcurrentUpdatesNeverLoseACount", testThrottleConcurrent},
	{"ThrottleUpdateRacingAResetNeverFails", testThrottleUpdateRacingReset},
	{"AccessTokenCRUD", testAccessTokenCRUD},
	{"RefreshTokenCreateAtomic", testRefreshTokenCreate},
	{"RefreshRotation", testRefreshRotation},
	{"RefreshReuseRevokesFamily", testRefreshReuse},
	{"RefreshConcurrentRotationOneWinner", testRefreshConcurrentRotation},
	{"RevokeRefreshFamily", testRevokeRefreshFamily},
	{"DeleteUserClientTokens", testDeleteUserClientTokens},
	{"DeleteUserTokens", testDeleteUserTokens},
	{"SessionCRUD", testSessionCRUD},
	{"SessionRevoke", testSessionRevoke},
	{"Consents", testConsents},
	{"SigningKeyRotation", testSigningKeyRotation},
	{"SigningKeyRotationPairAtomic", testSigningKeyRotationPair},
	{"FaceTemplates", testFaceTemplates},
	{"FaceTemplateResealCAS", testFaceTemplateResealCAS},
	{"FaceChallengeConsumeOnce", testFaceChallengeConsume},
	{"FaceChallengeConcurrentConsume", testFaceChallengeConcurrentConsume},
	{"PasskeyCRUD", testPasskeyCRUD},
	{"PasskeyCounterOnlyIncreases", testPasskeyCounterCAS},
	{"PasskeyConcurrentCounterOneWinner", testPasskeyConcurrentCounter},
	{"WebAuthnSessionConsumeOnce", testWebAuthnSessionConsume},
	{"ClientPolicy", testClientPolicy},
	{"RecoveryCodes", testRecoveryCodes},
	{"RecoveryCodeConcurrentConsume", testRecoveryCodeConcurrentConsume},
	{"FaceBypass", testFaceBypass},
	{"FaceBypassConcurrentConsume", testFaceBypassConcurrentConsume},
	{"Audit", testAudit},
	{"DeleteExpired", testDeleteExpired},
	{"TokenWithUserOneRead", testTokenWithUser},
	{"ClientSecretHashCAS", testClientSecretHashCAS},
	{"UnavailableAfterClose", testUnavailableAfterClose},
}
