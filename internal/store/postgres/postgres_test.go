package postgres_test

import (
	"testing"

	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/store/postgres"
	"github.com/herald-sms/herald/internal/store/postgres/pgtest"
	"github.com/herald-sms/herald/internal/store/storetest"
)

func open(t *testing.T, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.URL(t)) })
}
