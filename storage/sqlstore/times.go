package sqlstore

import (
	"reflect"
	"time"
)

// norm is the stored form of a time: UTC, microsecond precision (what
// PostgreSQL keeps), so SQLite and PostgreSQL behave the same and SQLite's
// text timestamps compare correctly.
func norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

var (
	timeType    = reflect.TypeFor[time.Time]()
	timePtrType = reflect.TypeFor[*time.Time]()
)

// normTimes normalises every time.Time and *time.Time field of the struct
// v points to. Pointer fields get a new pointer so values shared with the
// caller are not mutated behind their back.
func normTimes(v any) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return
	}
	rv = rv.Elem()
	if rv.Kind() != reflect.Struct {
		return
	}
	for i := range rv.NumField() {
		f := rv.Field(i)
		if !f.CanSet() {
			continue
		}
		switch f.Type() {
		case timeType:
			f.Set(reflect.ValueOf(norm(f.Interface().(time.Time))))
		case timePtrType:
			if !f.IsNil() {
				t := norm(*f.Interface().(*time.Time))
				f.Set(reflect.ValueOf(&t))
			}
		}
	}
}

// normAll normalises the times of every element of a slice of structs.
func normAll[T any](xs []T) []T {
	for i := range xs {
		normTimes(&xs[i])
	}
	return xs
}
