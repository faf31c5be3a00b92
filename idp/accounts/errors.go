package accounts

import "errors"

// Kinds of error the service returns, for callers that answer with a
// status (the admin API): errors.Is(err, ErrNotFound) and so on. The
// message stays the one-line text meant for the operator; storage
// outages wrap storage.ErrUnavailable.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
)

type notFoundError string

func (e notFoundError) Error() string        { return string(e) }
func (e notFoundError) Is(target error) bool { return target == ErrNotFound }

type conflictError string

func (e conflictError) Error() string        { return string(e) }
func (e conflictError) Is(target error) bool { return target == ErrConflict }
