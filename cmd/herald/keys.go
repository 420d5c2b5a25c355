package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store/sqlite"
)

// runKeys is `herald keys create --data DIR [--account NAME]`.
func (m *Main) runKeys(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(m.Stderr, "usage: herald keys create [--data DIR] [--account NAME]")
		return errUsage
	}
	fs := flag.NewFlagSet("keys create", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	data := fs.String("data", envOr("HERALD_DATA", "./herald-data"), "data directory (env HERALD_DATA)")
	account := fs.String("account", "default", "account name; created if it does not exist")
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	st, err := sqlite.Open(*data, sqlite.Options{})
	if err != nil {
		return err
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
