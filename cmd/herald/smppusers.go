package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// runSMPPUsers is `herald smpp-users create|list|delete --data DIR …`.
func (m *Main) runSMPPUsers(ctx context.Context, args []string) error {
	usage := func() error {
		fmt.Fprintln(m.Stderr, `usage: herald smpp-users create [--store URL | --data DIR] [--account NAME] --system-id ID [--password-stdin] [--max-binds N] [--rate-limit N] [--allow-ip ADDR]...
       herald smpp-users list   [--store URL | --data DIR] [--account NAME]
       herald smpp-users delete [--store URL | --data DIR] [--account NAME] --id ID`)
		return errUsage
	}
	if len(args) == 0 {
		return usage()
	}
	cmd := args[0]
	fs := flag.NewFlagSet("smpp-users "+cmd, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	data := fs.String("data", envOr("HERALD_DATA", "./herald-data"), "data directory (env HERALD_DATA)")
	storeURL := fs.String("store", envOr("HERALD_STORE", ""), "PostgreSQL URL (env HERALD_STORE); empty: SQLite in --data")
	account := fs.String("account", "default", "account name; created if it does not exist")
	systemID := fs.String("system-id", "", "system_id the client binds with (create)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input instead of generating one (create)")
	maxBinds := fs.Int("max-binds", 0, fmt.Sprintf("sessions bound at once (default %d)", herald.DefaultMaxBinds))
	rate := fs.Float64("rate-limit", 0, "submit_sm per second (default: no limit)")
	id := fs.String("id", "", "SMPP user id (delete)")
	var ips []string
	fs.Func("allow-ip", "address or CIDR prefix the user may bind from, repeatable (default: any)", func(s string) error {
		ips = append(ips, s)
		return nil
	})
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	if err := checkStore(*storeURL); err != nil {
		return fmt.Errorf("smpp-users: --store: %w", err)
	}
	st, err := openStore(ctx, *storeURL, *data, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("smpp-users: store %s: %w", describeStore(*storeURL, *data), err)
	}
	defer st.Close()
	acc, err := st.EnsureAccount(ctx, *account)
	if err != nil {
		return fmt.Errorf("smpp-users: account %q: %w", *account, err)
	}
	switch cmd {
	case "create":
		password := herald.NewSMPPPassword()
		if *fromStdin {
			line, err := bufio.NewReader(os.Stdin).ReadString('\n')
			if err != nil && line == "" {
				return fmt.Errorf("smpp-users: reading the password: %w", err)
			}
			if password = strings.TrimRight(line, "\r\n"); password == "" {
				return fmt.Errorf("smpp-users: empty password")
			}
		}
		now := time.Now().UTC()
		u := &herald.SMPPUser{ID: herald.NewID("smu", now.UnixMilli()), AccountID: acc.ID, SystemID: *systemID,
			PasswordHash: herald.HashSMPPPassword(password), MaxBinds: *maxBinds, RateLimit: *rate, AllowedIPs: ips, CreatedAt: now}
		if err := herald.ValidateSMPPUser(u); err != nil {
			return fmt.Errorf("smpp-users: %w", err)
		}
		if err := st.CreateSMPPUser(ctx, u); err != nil {
			return fmt.Errorf("smpp-users: %w", err)
		}
		fmt.Fprintf(m.Stdout, "account:   %s (%s)\n", acc.Name, acc.ID)
		fmt.Fprintf(m.Stdout, "id:        %s\n", u.ID)
		fmt.Fprintf(m.Stdout, "system_id: %s\n", u.SystemID)
		if !*fromStdin {
			fmt.Fprintf(m.Stdout, "password:  %s\n", password)
			fmt.Fprintln(m.Stdout, "The password is shown only now; Herald keeps only a salted hash.")
		}
	case "list":
		us, err := st.SMPPUsers(ctx, acc.ID)
		if err != nil {
			return err
		}
		for _, u := range us {
			fmt.Fprintf(m.Stdout, "%s %s max_binds=%d rate_limit=%g allowed_ips=%s\n", u.ID, u.SystemID, u.MaxBinds, u.RateLimit,
				strings.Join(u.AllowedIPs, ","))
		}
	case "delete":
		if err := st.DeleteSMPPUser(ctx, acc.ID, *id); err != nil {
			return fmt.Errorf("smpp-users: %w", err)
		}
		fmt.Fprintf(m.Stdout, "deleted %s\n", *id)
	default:
		return usage()
	}
	return nil
}
