package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/herald-sms/herald/internal/herald"
)

// runKeys is `herald keys create [--store URL | --data DIR] [--account NAME]`.
func (m *Main) runKeys(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(m.Stderr, "usage: herald keys create [--store URL | --data DIR] [--account NAME]")
		return errUsage
	}
	fs := flag.NewFlagSet("keys create", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	data := fs.String("data", envOr("HERALD_DATA", "./herald-data"), "data directory (env HERALD_DATA)")
	storeURL := fs.String("store", envOr("HERALD_STORE", ""), "PostgreSQL URL (env HERALD_STORE); empty: SQLite in --data")
	account := fs.String("account", "default", "account name; created if it does not exist")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if err := checkStore(*storeURL); err != nil {
		return fmt.Errorf("keys: --store: %w", err)
	}
	st, err := openStore(ctx, *storeURL, *data, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("keys: store %s: %w", describeStore(*storeURL, *data), err)
	}
	defer st.Close()
	acc, err := st.EnsureAccount(ctx, *account)
	if err != nil {
		return fmt.Errorf("keys: account %q: %w", *account, err)
	}
	secret, k := herald.NewAPIKey(acc.ID)
	if err := st.CreateAPIKey(ctx, k); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	fmt.Fprintf(m.Stdout, "account:        %s (%s)\n", acc.Name, acc.ID)
	fmt.Fprintf(m.Stdout, "api key:        %s\n", secret)
	fmt.Fprintf(m.Stdout, "webhook secret: %s  (signs webhooks sent to callback_url)\n", acc.WebhookSecret)
	fmt.Fprintln(m.Stdout, "The API key is shown only now; Herald keeps only its hash.")
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
