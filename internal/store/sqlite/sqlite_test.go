package sqlite_test

import (
	"testing"

	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/store/sqlite"
	"github.com/herald-sms/herald/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(t.TempDir(), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
