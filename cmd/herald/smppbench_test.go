package main

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// BenchmarkSMPPServer measures durable submit_sm/s into Herald's SMPP
// server: the whole platform in-process (SQLite with fsync per commit,
// the dispatcher sending every message on to an SMSC simulator with
// receipts), and b.N submit_sm pipelined over 4 transmitter binds with
// 256 outstanding each, timed until the last submit_sm_resp (each sent
// only after its message is committed).
//
//	go test ./cmd/herald -run '^$' -bench BenchmarkSMPPServer -benchtime 100000x
//
// The "intake" variant has no carrier to send to (the link cannot
// connect), so the store's writer serves only the intake: it measures
// how fast the SMPP server accepts and stores messages, which then wait
// durably for the carrier.
func BenchmarkSMPPServer(b *testing.B) {
	b.Run("end-to-end", func(b *testing.B) { benchSMPPServer(b, true) })
	b.Run("intake", func(b *testing.B) { benchSMPPServer(b, false) })
}

func benchSMPPServer(b *testing.B, carrier bool) {
	const binds, window = 4, 256
	addr := "127.0.0.1:1" // nothing listens: the carrier link never binds
	if carrier {
		addr = startSim(b).Addr()
	}
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	cfg := defaultConfig()
	cfg.Data, cfg.HTTP, cfg.SMPP = b.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
	off := false
	cfg.Simulator.Enabled = &off
	cfg.Carriers = []CarrierConfig{{Name: "bench", Host: host, Port: n, Binds: 2, Window: 200}}
	if err := cfg.validate(); err != nil {
		b.Fatal(err)
	}
	p := startStoppable(b, cfg)
	defer func() {
		if err := p.stop(); err != nil {
			b.Error(err)
		}
	}()
	acc, err := p.Store.EnsureAccount(b.Context(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	u := &herald.SMPPUser{ID: herald.NewID("smu", time.Now().UnixMilli()), AccountID: acc.ID, SystemID: "bench",
		PasswordHash: herald.HashSMPPPassword("bench"), MaxBinds: binds}
	if err := p.Store.CreateSMPPUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	sessions := make([]*smpp.Session, binds)
	for i := range sessions {
		s, err := smpp.Dial(b.Context(), p.SMPPAddr, pdu.Bind{Role: pdu.Transmitter, SystemID: "bench", Password: "bench"},
			smpp.Config{Window: window}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		sessions[i] = s
	}
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := processCPU()
	start := time.Now()
	for i, s := range sessions {
		wg.Go(func() {
			for j := i; j < b.N; j += binds {
				sm := &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{TON: 5, Addr: "Herald"},
					Dest: pdu.Address{TON: 1, NPI: 1, Addr: fmt.Sprintf("447911%06d", j%1000000)}, Message: []byte("benchmark message")}}
				wg.Add(1)
				err := s.Go(b.Context(), sm, func(r smpp.Response) {
					defer wg.Done()
					if err := r.Error(); err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
					}
				})
				if err != nil {
					wg.Done()
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d submits failed (first: %v)", f, b.N, firstErr.Load())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "submit_sm/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/submit")
}

// processCPU returns the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
