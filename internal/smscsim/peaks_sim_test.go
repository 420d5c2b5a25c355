package smscsim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
	"github.com/herald-sms/herald/internal/smscsim"
)

// answerOK answers every deliver_sm ESME_ROK.
var answerOK = smpp.HandlerFunc(func(r *smpp.Request) { r.Respond(pdu.StatusOK, nil) })

// httpStats reads GET /stats from sim's handler.
func httpStats(t *testing.T, sim *smscsim.Simulator) smscsim.Stats {
	t.Helper()
	rec := httptest.NewRecorder()
	sim.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/stats", nil))
	var st smscsim.Stats
	if err := json.Unmarshal(rec.Body.Bytes(), &st); rec.Code != http.StatusOK || err != nil {
		t.Fatalf("GET /stats: %d %v\n%s", rec.Code, err, rec.Body)
	}
	return st
}

// resetPeaks calls POST /stats/reset-peaks on sim's handler.
func resetPeaks(t *testing.T, sim *smscsim.Simulator) {
	t.Helper()
	rec := httptest.NewRecorder()
	sim.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/stats/reset-peaks", nil))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("POST /stats/reset-peaks: %d\n%s", rec.Code, rec.Body)
	}
}

// TestMaxSessionsConcurrentBinds binds many ESMEs at once over loopback
// and checks that the high-water mark counts every one of them.
func TestMaxSessionsConcurrentBinds(t *testing.T) {
	t.Parallel()
	sim := start(t, smscsim.Options{})
	const n = 12
	roles := []pdu.Role{pdu.Transmitter, pdu.Receiver, pdu.Transceiver}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			bind := pdu.Bind{Role: roles[i%len(roles)], SystemID: fmt.Sprintf("acme%d", i%2)}
			s, err := smpp.Dial(t.Context(), sim.Addr(), bind, smpp.Config{}, answerOK)
			if err != nil {
				t.Error(err)
				return
			}
			t.Cleanup(func() { s.Close() })
			// The simulator registers a bind before it reads the bind's
			// first request: once enquire_link is answered, it is counted.
			if r, err := s.Send(t.Context(), &pdu.EnquireLink{}); err != nil || r.Error() != nil {
				t.Errorf("enquire_link: %v %v", err, r.Error())
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	st := httpStats(t, sim)
	if st.Sessions != n || st.MaxSessions != n || st.Binds != n {
		t.Fatalf("sessions %d, max_sessions %d, binds %d; want %d each", st.Sessions, st.MaxSessions, st.Binds, n)
	}
}

// TestMaxSessionsRiseAndFall follows the high-water mark as binds come
// and go, and across ResetPeaks. In a synctest bubble, synctest.Wait
// returns once the simulator has registered a new bind or seen a closed
// one end.
func TestMaxSessionsRiseAndFall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, first := pipeBind(t, smscsim.Options{}, answerOK)
		defer sim.Close()
		defer first.Close()
		var open []*smpp.Session
		bindN := func(n int) {
			for i := range n {
				open = append(open, pipeSession(t, sim, []pdu.Role{pdu.Transmitter, pdu.Receiver}[i%2], answerOK))
			}
			synctest.Wait()
		}
		closeN := func(n int) {
			for _, s := range open[:n] {
				s.Close()
			}
			open = open[n:]
			synctest.Wait()
		}
		check := func(step string, sessions, maxSessions int64) {
			t.Helper()
			if st := sim.Stats(); st.Sessions != sessions || st.MaxSessions != maxSessions {
				t.Fatalf("%s: sessions %d, max_sessions %d; want %d, %d", step, st.Sessions, st.MaxSessions, sessions, maxSessions)
			}
		}

		synctest.Wait()
		check("one bind", 1, 1)
		bindN(3)
		check("three more at once", 4, 4)
		closeN(2)
		check("two closed", 2, 4)
		bindN(2)
		check("two more: as many as before", 4, 4)
		closeN(3)
		check("three closed", 1, 4)
		resetPeaks(t, sim)
		check("reset", 1, 1)
		bindN(1)
		closeN(1)
		check("one up and down", 1, 2)
		first.Close()
		synctest.Wait()
		check("all closed", 0, 2)
	})
}

// TestMaxSubmitsPerSecond submits at controlled rates, on fake time, and
// checks the one-second peak of the submits received over every bind,
// those the simulator throttled included.
func TestMaxSubmitsPerSecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sim, a := pipeBind(t, smscsim.Options{MaxRate: 300}, answerOK)
		defer sim.Close()
		defer a.Close()
		b := pipeSession(t, sim, pdu.Transmitter, answerOK)
		defer b.Close()
		// send submits n messages on s, one every interval from now.
		send := func(s *smpp.Session, n int, interval time.Duration) {
			for i := range n {
				if i > 0 {
					time.Sleep(interval)
				}
				if _, err := s.Send(t.Context(), submitSM("x", 0)); err != nil {
					t.Error(err)
					return
				}
			}
		}
		// burst submits n messages on s at once, pipelined.
		burst := func(s *smpp.Session, n int) {
			var wg sync.WaitGroup
			wg.Add(n)
			for range n {
				if err := s.Go(t.Context(), submitSM("x", 0), func(smpp.Response) { wg.Done() }); err != nil {
					t.Fatal(err)
				}
			}
			wg.Wait()
		}
		check := func(step string, want uint64) {
			t.Helper()
			if st := httpStats(t, sim); st.MaxSubmitsPerSecond != want {
				t.Fatalf("%s: max_submits_per_second %d, want %d (submits %d)", step, st.MaxSubmitsPerSecond, want, st.Submits)
			}
		}

		// Two binds at 250/s each for 2 s, interleaved: 500/s together,
		// of which the simulator accepts 300/s.
		var wg sync.WaitGroup
		wg.Go(func() { send(a, 500, 4*time.Millisecond) })
		wg.Go(func() {
			time.Sleep(2 * time.Millisecond)
			send(b, 500, 4*time.Millisecond)
		})
		wg.Wait()
		check("2 × 250/s", 500)
		if st := sim.Stats(); st.RateThrottled == 0 || st.Submits != 1000 {
			t.Fatalf("submits %d, rate_throttled %d: want 1000 received, some throttled", st.Submits, st.RateThrottled)
		}

		// A phase after ResetPeaks counts only its own submits, although
		// the last second held 500.
		resetPeaks(t, sim)
		check("reset", 0)
		send(a, 100, 10*time.Millisecond) // 100/s for 1 s
		check("100/s", 100)

		// Bursts: 300 at once, then the window slides over them.
		time.Sleep(2 * time.Second)
		resetPeaks(t, sim)
		burst(a, 300)
		time.Sleep(time.Second)
		burst(b, 100) // 1 s after the 300: another window
		check("300, then 100 a second later", 300)
		time.Sleep(500 * time.Millisecond)
		burst(a, 200) // with the 100 of 0.5 s ago
		check("100, then 200 half a second later", 300)
		time.Sleep(499 * time.Millisecond)
		burst(b, 1) // 999 ms after the 100
		check("100, 200 and 1 within 999 ms", 301)
	})
}
