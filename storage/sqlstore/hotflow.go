package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/faceidp/faceidp/models"
)

// A sign-in reads its auth request at every step (login page, password,
// callback, code exchange) and rewrites it two or three times, and reads
// its user a few times: those are plain SQL on prepared statements too, as
// the token reads in hot.go are (docs/performance.md, "after issue 8
// follow-up"). TestHotColumnsCoverModels keeps the column list in step
// with models.AuthRequest.

func authRequestColumns(r *models.AuthRequest) []hotColumn {
	return []hotColumn{
		{"id", str{&r.ID}}, {"client_id", str{&r.ClientID}}, {"redirect_uri", str{&r.RedirectURI}},
		{"scopes", list{&r.Scopes}}, {"state", str{&r.State}}, {"nonce", str{&r.Nonce}},
		{"response_type", str{&r.ResponseType}}, {"response_mode", str{&r.ResponseMode}},
		{"code_challenge", str{&r.CodeChallenge}}, {"code_challenge_method", str{&r.CodeChallengeMethod}},
		{"prompt", list{&r.Prompt}}, {"max_age", int64Ptr{&r.MaxAge}}, {"login_hint", str{&r.LoginHint}},
		{"ui_locales", list{&r.UILocales}}, {"acr_values", list{&r.ACRValues}}, {"hint_subject", str{&r.HintSubject}},
		{"step", named[models.LoginStep]{&r.Step}}, {"browser_binding", str{&r.BrowserBinding}},
		{"user_id", str{&r.UserID}}, {"session_id", str{&r.SessionID}}, {"auth_time", stamp{&r.AuthTime}},
		{"amr", list{&r.AMR}}, {"acr", str{&r.ACR}}, {"done", boolean{&r.Done}}, {"code_hash", str{&r.CodeHash}},
		{"code_used_at", stampPtr{&r.CodeUsedAt}}, {"code_access_token_id", str{&r.CodeAccessTokenID}},
		{"code_refresh_family_id", str{&r.CodeRefreshFamilyID}}, {"created_at", stamp{&r.CreatedAt}},
		{"expires_at", stamp{&r.ExpiresAt}},
	}
}

var (
	getAuthRequestSQL           = "SELECT " + columnList("r", authRequestColumns(&models.AuthRequest{})) + " FROM auth_requests r WHERE r.id = ?"
	getAuthRequestByCodeHashSQL = "SELECT " + columnList("r", authRequestColumns(&models.AuthRequest{})) + " FROM auth_requests r WHERE r.code_hash = ?"
	getUserSQL                  = "SELECT " + columnList("u", userColumns(&models.User{})) + " FROM users u WHERE u.id = ?"
	updateAuthRequestSQL        = updateSQL("auth_requests", authRequestColumns(&models.AuthRequest{}), "id", "created_at")
)

// updateSQL is "UPDATE table SET col = ?, ... WHERE id = ?" over cols
// except those in omit; setValues are its SET values in the same order
// (the caller appends the id).
func updateSQL(table string, cols []hotColumn, omit ...string) string {
	var set []string
	for _, c := range cols {
		if !slices.Contains(omit, c.name) {
			set = append(set, c.name+" = ?")
		}
	}
	return "UPDATE " + table + " SET " + strings.Join(set, ", ") + " WHERE id = ?"
}

func setValues(cols []hotColumn, omit ...string) []any {
	args := make([]any, 0, len(cols)+1)
	for _, c := range cols {
		if !slices.Contains(omit, c.name) {
			args = append(args, c.dest.(valuer).value())
		}
	}
	return args
}

func (s *Store) getAuthRequest(ctx context.Context, op, query string, arg string) (*models.AuthRequest, error) {
	var r models.AuthRequest
	if err := s.hotRow(ctx, op, query, arg, dests(authRequestColumns(&r))); err != nil {
		return nil, err
	}
	normTimes(&r)
	return &r, nil
}

// hotExec runs a write statement prepared once on the writer and returns
// the rows affected.
func (s *Store) hotExec(ctx context.Context, op, query string, args ...any) (int64, error) {
	st, err := s.hotW.prepared(ctx, s.wdb, s.dialect, query)
	if err != nil {
		return 0, wrap(op, err)
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, wrap(op, err)
	}
	n, err := res.RowsAffected()
	return n, wrap(op, err)
}

// --- scanners of hotflow's columns (values as gorm writes them) -------------

// int64Ptr is a nullable integer: NULL scans to nil.
type int64Ptr struct{ p **int64 }

func (d int64Ptr) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*d.p = nil
	case int64:
		*d.p = &v
	default:
		return fmt.Errorf("scan %T into an integer", v)
	}
	return nil
}

func (d int64Ptr) value() any {
	if *d.p == nil {
		return nil
	}
	return **d.p
}

// named is a string of a named string type (models.LoginStep).
type named[T ~string] struct{ p *T }

func (d named[T]) Scan(v any) error {
	var s string
	if err := (str{&s}).Scan(v); err != nil {
		return err
	}
	*d.p = T(s)
	return nil
}

func (d named[T]) value() any { return string(*d.p) }
