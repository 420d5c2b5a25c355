package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkHTTPCeiling measures what this machine can do with HTTP alone,
// as a reference for the end-to-end figures in docs/benchmarks.md: 64
// keep-alive clients POST a message-sized JSON body to a handler that
// decodes it and answers 202 with JSON, and (webhook=1) the handler also
// hands one webhook POST per request to 64 senders that post it to a
// receiver. No storage, no SMPP, no signing: a message path cannot be
// cheaper than this on the same machine.
//
//	go test ./cmd/herald -run '^$' -bench HTTPCeiling -benchtime 100000x
func BenchmarkHTTPCeiling(b *testing.B) {
	for _, webhook := range []bool{false, true} {
		name := "webhook=0"
		if webhook {
			name = "webhook=1"
		}
		b.Run(name, func(b *testing.B) { benchHTTPCeiling(b, webhook) })
	}
}

func benchHTTPCeiling(b *testing.B, webhook bool) {
	const clients = 64
	var got atomic.Int64
	all := make(chan struct{})
	target := int64(b.N)
	recv := serveHTTP(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if got.Add(1) == target {
			close(all)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	hooks := make(chan []byte, 4096)
	hookClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	var senders sync.WaitGroup
	for range clients {
		senders.Go(func() {
			for body := range hooks {
				resp, err := hookClient.Post("http://"+recv+"/hook", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	api := serveHTTP(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m["id"], m["status"] = "01KB0000000000000000000000", "accepted"
		out, _ := json.Marshal(m)
		if webhook {
			hooks <- out
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		w.Write(out)
	}))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	body := []byte(`{"to":"+447911123456","from":"Herald","body":"Your code is 123456. Do not share it with anyone.","type":"otp"}`)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range clients {
		wg.Go(func() {
			for next.Add(1) <= target {
				req, _ := http.NewRequest(http.MethodPost, "http://"+api+"/v1/messages", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer hk0000000000000000000000000000000000000000000000")
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	if webhook {
		<-all
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	close(hooks)
	senders.Wait()
}

func serveHTTP(b *testing.B, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}
