package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/herald-sms/herald/internal/herald"
)

// TestSend sends messages with `herald send` through a whole platform
// (built-in simulator, receipts at once).
func TestSend(t *testing.T) {
	t.Parallel()
	tp := startPlatform(t, nil)
	send := func(t *testing.T, args ...string) (string, string, error, int) {
		t.Helper()
		m, stdout, stderr := newTestMain()
		err := m.Run(t.Context(), append([]string{"send", "--url", tp.url, "--key", tp.key}, args...))
		return stdout.String(), stderr.String(), err, m.exitCode(err)
	}

	t.Run("prints the id and status", func(t *testing.T) {
		t.Parallel()
		out, _, err, _ := send(t, "--to", "+447911123456", "--body", "hi", "--type", "otp")
		if err != nil || !regexp.MustCompile(`^msg_\w+ (accepted|queued)\n$`).MatchString(out) {
			t.Fatalf("send = %v, printed %q", err, out)
		}
	})
	t.Run("waits for delivery", func(t *testing.T) {
		t.Parallel()
		out, _, err, _ := send(t, "--to", "+447911123457", "--body", "hi", "--from", "ACME", "--wait")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if err != nil || len(lines) != 2 || !strings.HasSuffix(lines[1], " delivered") || strings.Fields(lines[0])[0] != strings.Fields(lines[1])[0] {
			t.Fatalf("send --wait = %v, printed %q", err, out)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		t.Parallel()
		out, _, err, _ := send(t, "--to", "+447911123458", "--body", "hi", "--wait", "--json")
		var v herald.MessageView
		if err != nil || json.Unmarshal([]byte(out), &v) != nil || v.Status != herald.StatusDelivered || v.From != "Herald" || v.To != "+447911123458" {
			t.Fatalf("send --wait --json = %v, printed %q", err, out)
		}
	})
	t.Run("idempotency key", func(t *testing.T) {
		t.Parallel()
		args := []string{"--to", "+447911123459", "--body", "once", "--idempotency-key", "order-7"}
		first, _, err1, _ := send(t, args...)
		again, _, err2, _ := send(t, args...)
		id := strings.Fields(first)[0]
		if err1 != nil || err2 != nil || strings.Contains(first, "replayed") || !strings.HasPrefix(again, id+" ") || !strings.Contains(again, "(replayed") {
			t.Fatalf("first %q (%v), again %q (%v)", first, err1, again, err2)
		}
	})
	t.Run("API error", func(t *testing.T) {
		t.Parallel()
		out, _, err, code := send(t, "--to", "+44123", "--body", "hi")
		if code != 1 || out != "" || err == nil || !strings.Contains(err.Error(), "422 invalid_phone_number (field to)") {
			t.Fatalf("send to a bad number = %v (exit %d), printed %q", err, code, out)
		}
	})
	t.Run("bad key", func(t *testing.T) {
		t.Parallel()
		m, _, _ := newTestMain()
		err := m.Run(t.Context(), []string{"send", "--url", tp.url, "--key", "hk_wrong", "--to", "+447911123456", "--body", "hi"})
		if m.exitCode(err) != 1 || !strings.Contains(err.Error(), "401 unauthorized") {
			t.Fatalf("send with a bad key = %v", err)
		}
	})
	t.Run("server not running", func(t *testing.T) {
		t.Parallel()
		m, _, _ := newTestMain()
		err := m.Run(t.Context(), []string{"send", "--url", "http://127.0.0.1:1", "--key", "k", "--to", "+447911123456", "--body", "hi"})
		if m.exitCode(err) != 1 {
			t.Fatalf("send to nothing = %v", err)
		}
	})
	for _, args := range [][]string{{"--body", "hi"}, {"--to", "+447911123456"}, {"--to", "+447911123456", "--body", "hi", "extra"}} {
		t.Run("usage "+strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			_, stderr, _, code := send(t, args...)
			if code != 2 || !strings.Contains(stderr, "Usage: herald send") {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
		})
	}
}
