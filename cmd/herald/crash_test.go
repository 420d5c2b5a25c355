package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smscsim"
	"github.com/herald-sms/herald/internal/store"
	"github.com/herald-sms/herald/internal/store/sqlite"
)

// TestMain lets the test binary act as the herald command, so that the
// crash test can run Herald as a separate process and kill it.
func TestMain(m *testing.M) {
	if os.Getenv("HERALD_TEST_BE_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// heraldProcess is Herald running as a child process.
type heraldProcess struct {
	cmd    *exec.Cmd
	url    string
	done   chan error
	stderr *syncBuffer
}

// heraldBinary builds the herald command without the race detector (the
// crash test measures Herald's behaviour under load, and a race-built
// child is ten times slower), falling back to this test binary acting
// as herald when the go tool is not at hand.
func heraldBinary(t *testing.T) (path string, env []string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "herald")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("go build failed (%v: %s); running the test binary as herald", err, out)
		return os.Args[0], []string{"HERALD_TEST_BE_MAIN=1"}
	}
	return bin, nil
}

func startHerald(t *testing.T, bin string, env []string, args ...string) *heraldProcess {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Env = append(append(os.Environ(), env...), "HERALD_LOG_LEVEL=warn", "GOTRACEBACK=all")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &heraldProcess{cmd: cmd, done: make(chan error, 1), stderr: stderr}
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if _, rest, ok := strings.Cut(lines.Text(), "serving the API on "); ok {
			p.url = strings.Fields(rest)[0]
			break
		}
	}
	if p.url == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("herald did not start: %s", stderr.String())
	}
	go io.Copy(io.Discard, out)
	go func() { p.done <- cmd.Wait() }()
	return p
}

// TestCrashRecovery kills Herald with SIGKILL in the middle of a load of
// 20,000 messages sent to an external SMSC simulator, restarts it, and
// checks the promises: every message that got a 2xx reaches a final
// state, none is lost, and the duplicates the simulator saw are no more
// than the parts in flight at the kill, each counted by Herald.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: kills Herald during a 20,000-message load")
	}
	const (
		total     = 20000
		killAfter = 8000
		batchSize = 50
		workers   = 8
	)
	var mu sync.Mutex
	seen := map[string]int{} // destination → submits the simulator accepted
	sim, err := smscsim.New(smscsim.Options{Addr: "127.0.0.1:0", OnSubmit: func(s smscsim.Submitted) {
		mu.Lock()
		seen[s.Dest.Addr]++
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()

	data := t.TempDir()
	st, err := sqlite.Open(data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := st.EnsureAccount(t.Context(), "crash")
	if err != nil {
		t.Fatal(err)
	}
	key, k := herald.NewAPIKey(acc.ID)
	if err := st.CreateAPIKey(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	st.Close()

	args := []string{"--data", data, "--http", "127.0.0.1:0", "--simulator", "off",
		"--carrier", "smpp://herald:pw@" + sim.Addr() + "?binds=2&window=100"}
	bin, env := heraldBinary(t)
	proc := startHerald(t, bin, env, args...)
	var url atomic.Pointer[string]
	url.Store(&proc.url)

	// The load: batches of distinct numbers, each with its own
	// Idempotency-Key, retried until they get a 2xx (across the crash).
	var accepted sync.Map // message id → destination
	var acceptedN atomic.Int64
	var nextBatch atomic.Int64
	killed := make(chan struct{})
	var killOnce sync.Once
	client := &http.Client{Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	post := func(b int) bool {
		ms, ok := postBatch(ctx, client, *url.Load(), key, fmt.Sprintf("batch-%d", b), "+447911", b*batchSize, batchSize)
		if !ok {
			return false
		}
		n := 0
		for _, m := range ms {
			if _, dup := accepted.LoadOrStore(m.ID, m.To); !dup {
				n++
			}
		}
		if acceptedN.Add(int64(n)) >= killAfter {
			killOnce.Do(func() { close(killed) })
		}
		return true
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				b := int(nextBatch.Add(1) - 1)
				if b >= total/batchSize {
					return
				}
				for !post(b) {
					if ctx.Err() != nil {
						t.Errorf("batch %d never accepted", b)
						return
					}
					time.Sleep(50 * time.Millisecond) // the server is down: wait for the restart
				}
			}
		})
	}

	<-killed
	if err := proc.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-proc.done
	mu.Lock()
	atKill := 0
	for _, n := range seen {
		atKill += n
	}
	mu.Unlock()
	t.Logf("killed Herald with SIGKILL after %d messages accepted, %d submits seen", acceptedN.Load(), atKill)
	proc = startHerald(t, bin, env, args...)
	url.Store(&proc.url)
	wg.Wait()
	if acceptedN.Load() != total {
		proc.cmd.Process.Signal(syscall.SIGQUIT)
		<-proc.done
		out := proc.stderr.String()
		t.Fatalf("%d messages accepted, want %d; herald's stderr (last 60000 bytes):\n%s", acceptedN.Load(), total, out[max(0, len(out)-60000):])
	}

	// Wait until nothing is pending any more.
	for {
		pending := 0
		for _, s := range []string{"queued", "sending", "sent", "scheduled"} {
			pending += countStatus(t, client, proc.url, key, s)
		}
		if pending == 0 {
			break
		}
		if ctx.Err() != nil {
			proc.cmd.Process.Signal(syscall.SIGQUIT)
			<-proc.done
			out := proc.stderr.String()
			t.Fatalf("%d messages still pending; simulator %+v\nherald's stderr (last 30000 bytes):\n%s", pending, sim.Stats(), out[max(0, len(out)-30000):])
		}
		time.Sleep(200 * time.Millisecond)
	}
	proc.cmd.Process.Signal(syscall.SIGTERM)
	if err := <-proc.done; err != nil {
		t.Fatalf("herald exited with %v", err)
	}

	// Every accepted message is final and delivered; count resends.
	st, err = sqlite.Open(data, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lost, notDelivered := 0, 0
	accepted.Range(func(id, _ any) bool {
		m, err := st.Message(t.Context(), acc.ID, id.(string), false)
		switch {
		case err != nil:
			lost++
		case m.Status != herald.StatusDelivered:
			notDelivered++
		}
		return true
	})
	resends := 0
	for cursor := ""; ; {
		page, next, err := st.ListMessages(t.Context(), acc.ID, store.MessageFilter{Limit: 1000, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page {
			resends += m.Resends
		}
		if next == "" {
			break
		}
		cursor = next
	}
	mu.Lock()
	duplicates, distinct := 0, len(seen)
	for _, n := range seen {
		duplicates += n - 1
	}
	mu.Unlock()
	t.Logf("after restart: %d accepted, %d lost, %d not delivered; simulator saw %d numbers, %d duplicate submits; Herald counted %d resends",
		total, lost, notDelivered, distinct, duplicates, resends)
	if lost != 0 || notDelivered != 0 {
		t.Errorf("%d accepted messages lost, %d not delivered", lost, notDelivered)
	}
	if distinct < total {
		t.Errorf("the simulator saw only %d of %d numbers", distinct, total)
	}
	if duplicates > resends {
		t.Errorf("%d duplicates reached the simulator but Herald counted only %d resends", duplicates, resends)
	}
	// The dispatcher keeps at most 2,000 parts per link in flight.
	if resends > 2000 {
		t.Errorf("%d resends: more than the in-flight bound of 2,000", resends)
	}
}

// postBatch posts messages to prefix+first … prefix+first+n-1 (six
// digits) in one batch request, with idem as its Idempotency-Key ("" for
// none), and returns the accepted messages; ok is false when the request
// failed or was not answered 202.
func postBatch(ctx context.Context, c *http.Client, url, key, idem, prefix string, first, n int) (ms []*herald.MessageView, ok bool) {
	var body strings.Builder
	body.WriteString(`{"messages":[`)
	for i := range n {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"to":"%s%06d","body":"test message %d"}`, prefix, first+i, first+i)
	}
	body.WriteString(`]}`)
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/messages/batch", strings.NewReader(body.String()))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return nil, false
	}
	var out struct {
		Data []struct {
			Message *herald.MessageView `json:"message"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, false
	}
	for _, d := range out.Data {
		if d.Message != nil {
			ms = append(ms, d.Message)
		}
	}
	return ms, true
}

func countStatus(t *testing.T, c *http.Client, url, key, status string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url+"/v1/messages?limit=1000&status="+status, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data []json.RawMessage `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	return len(out.Data)
}
