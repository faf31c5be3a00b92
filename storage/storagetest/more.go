package storagetest

import (
	"testing"

	"github.com/faceidp/faceidp/storage"
)

var moreTests = []struct {
	name string
	fn   func(t *testing.T, s storage.Storage)
}{}
