package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// scriptTimeout bounds a whole script run. The scripts finish in well under
// a second; the margin is for loaded CI machines. A script still running at
// the deadline is killed and the test fails.
const scriptTimeout = 30 * time.Second

// netSMPP reports whether perl can load Net::SMPP, and its version.
var netSMPP = sync.OnceValues(func() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "perl", "-MNet::SMPP", "-e", "print $Net::SMPP::VERSION").CombinedOutput()
	if err != nil {
		if out = bytes.TrimSpace(out); len(out) > 0 {
			return "", fmt.Errorf("perl -MNet::SMPP: %w: %s", err, out)
		}
		return "", fmt.Errorf("perl -MNet::SMPP: %w", err)
	}
	return string(out), nil
})

// requireNetSMPP skips the test when perl or Net::SMPP is missing, except
// under CI=true, where the tests must really run and a missing peer fails.
func requireNetSMPP(t *testing.T) {
	t.Helper()
	version, err := netSMPP()
	if err != nil {
		msg := fmt.Sprintf("Net::SMPP unavailable (install libnet-smpp-perl): %v", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Logf("peer: Net::SMPP %s", version)
}

// event is one line a script printed: a name and key=value fields.
type event struct {
	Name   string
	Fields map[string]string
	Line   string
}

// parseEvent reads one output line of the scripts in testdata: a name, then
// space-separated key=value fields whose value is either bare (no spaces)
// or a double-quoted string in Go syntax.
func parseEvent(line string) (event, error) {
	name, rest, _ := strings.Cut(line, " ")
	if name == "" || strings.ContainsAny(name, `="`) {
		return event{}, fmt.Errorf("line %q: no event name", line)
	}
	ev := event{Name: name, Fields: map[string]string{}, Line: line}
	for rest = strings.TrimLeft(rest, " "); rest != ""; rest = strings.TrimLeft(rest, " ") {
		key, after, ok := strings.Cut(rest, "=")
		if !ok || key == "" || strings.ContainsAny(key, ` "`) {
			return event{}, fmt.Errorf("line %q: bad field at %q", line, rest)
		}
		var val string
		if strings.HasPrefix(after, `"`) {
			q, err := strconv.QuotedPrefix(after)
			if err != nil {
				return event{}, fmt.Errorf("line %q: field %s: %w", line, key, err)
			}
			val, _ = strconv.Unquote(q)
			rest = after[len(q):]
			if rest != "" && rest[0] != ' ' {
				return event{}, fmt.Errorf("line %q: field %s: text after closing quote", line, key)
			}
		} else {
			val, rest, _ = strings.Cut(after, " ")
		}
		if _, dup := ev.Fields[key]; dup {
			return event{}, fmt.Errorf("line %q: field %s repeated", line, key)
		}
		ev.Fields[key] = val
	}
	return ev, nil
}

// script is a running Perl script from testdata. Its stdout is read as
// events in order; the test goroutine consumes them with next and expect.
type script struct {
	t    *testing.T
	name string
	ctx  context.Context // the script's lifetime; it is killed when ctx ends

	events chan event    // closed at EOF on stdout
	exited chan struct{} // closed once the process has been waited for
	err    error         // exit error; set before exited is closed
	stderr bytes.Buffer  // written by os/exec; read only after exited
}

// runScript starts `perl testdata/name args...` and stops it (killing it if
// needed) when the test ends. On failure the script's stderr is logged.
func runScript(t *testing.T, name string, args ...string) *script {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), scriptTimeout)
	s := &script{t: t, name: name, ctx: ctx, events: make(chan event, 64), exited: make(chan struct{})}
	cmd := exec.CommandContext(ctx, "perl", append([]string{filepath.Join("testdata", name)}, args...)...)
	cmd.Stderr = &s.stderr
	// Bound the wait for the pipes after a kill.
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatalf("%s: %v", name, err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			ev, err := parseEvent(sc.Text())
			if err != nil {
				ev = event{Name: "unparsable", Line: sc.Text()}
			}
			select {
			case s.events <- ev:
			case <-ctx.Done():
				// Nobody listens any more: keep reading to EOF.
			}
		}
		close(s.events)
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		cancel()
		<-s.exited
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, s.stderr.Bytes())
		}
	})
	return s
}

// next returns the script's next event. It fails the test when the script
// ends its output first or the deadline passes.
func (s *script) next(what string) event {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			<-s.exited
			s.t.Fatalf("%s exited (%v) before %s; stderr:\n%s", s.name, s.err, what, s.stderr.Bytes())
		}
		s.t.Logf("%s: %s", s.name, ev.Line)
		return ev
	case <-s.ctx.Done():
		s.t.Fatalf("%s: no %s within %v", s.name, what, scriptTimeout)
	}
	panic("unreachable")
}

// expect returns the next event and fails the test unless it is called name.
func (s *script) expect(name string) event {
	s.t.Helper()
	ev := s.next(name)
	if ev.Name != name {
		s.t.Fatalf("%s: got %q, want a %s event", s.name, ev.Line, name)
	}
	return ev
}

// field returns ev's field key and fails the test when it is missing.
func (s *script) field(ev event, key string) string {
	s.t.Helper()
	v, ok := ev.Fields[key]
	if !ok {
		s.t.Fatalf("%s: %q has no %s field", s.name, ev.Line, key)
	}
	return v
}

// check fails the test unless ev's field key has the value want.
func (s *script) check(ev event, key, want string) {
	s.t.Helper()
	if got := s.field(ev, key); got != want {
		s.t.Errorf("%s: %s %s=%q, want %q", s.name, ev.Name, key, got, want)
	}
}

// wait reads the script's remaining output, waits for it to exit and fails
// the test unless it exited 0 with no further events.
func (s *script) wait() {
	s.t.Helper()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				<-s.exited
				if s.err != nil {
					var ee *exec.ExitError
					if errors.As(s.err, &ee) {
						s.t.Fatalf("%s exited with status %d, want 0", s.name, ee.ExitCode())
					}
					s.t.Fatalf("%s: %v", s.name, s.err)
				}
				return
			}
			s.t.Errorf("%s: unexpected event %q", s.name, ev.Line)
		case <-s.ctx.Done():
			s.t.Fatalf("%s did not exit within %v", s.name, scriptTimeout)
		}
	}
}

func TestParseEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want event
		err  bool
	}{
		{line: "bound", want: event{Name: "bound", Fields: map[string]string{}}},
		{line: "submit_resp status=0 id=4e53000001", want: event{Name: "submit_resp", Fields: map[string]string{"status": "0", "id": "4e53000001"}}},
		{line: `deliver text="id:1 sub:001 \"q\" a\\b" rid="7\x00" x=a=b`, want: event{Name: "deliver", Fields: map[string]string{"text": `id:1 sub:001 "q" a\b`, "rid": "7\x00", "x": "a=b"}}},
		{line: `bind system_type="" port=1`, want: event{Name: "bind", Fields: map[string]string{"system_type": "", "port": "1"}}},
		{line: `latin text="\xe9t\xe9"`, want: event{Name: "latin", Fields: map[string]string{"text": "\xe9t\xe9"}}},
		{line: "", err: true},
		{line: "=x", err: true},
		{line: "ev novalue", err: true},
		{line: "ev a=1 a=2", err: true},
		{line: `ev a="open`, err: true},
		{line: `ev a="x"y`, err: true},
		{line: `ev ="x"`, err: true},
	}
	for _, tt := range tests {
		got, err := parseEvent(tt.line)
		if tt.err {
			if err == nil {
				t.Errorf("parseEvent(%q) = %+v, want an error", tt.line, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseEvent(%q): %v", tt.line, err)
			continue
		}
		if got.Name != tt.want.Name || !maps.Equal(got.Fields, tt.want.Fields) {
			t.Errorf("parseEvent(%q) = %s %q, want %s %q", tt.line, got.Name, got.Fields, tt.want.Name, tt.want.Fields)
		}
	}
}
