package webhook

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
)

// benchPayload is a typical event body (about 400 bytes).
var benchPayload = []byte(`{"id":"evt_01JNQ2ZM4T","type":"message.delivered","timestamp":"2026-03-01T11:59:58Z","data":{"id":"msg_01JNQ2ZKX8","object":"message","status":"delivered","to":"+447700900123","from":"Herald","type":"otp","encoding":"gsm7","parts":1,"reference":"order-42","carrier":"sim","resends":0,"created_at":"2026-03-01T11:59:56Z","updated_at":"2026-03-01T11:59:58Z","carrier_code":"DELIVRD/000"}}`)

// BenchmarkWorker delivers b.N deliveries to a local receiver that
// answers 204 at once, through the guarded transport and the in-process
// store, with the default Concurrency and batching. The receiver runs in
// the same process, so allocs/op include the server's.
func BenchmarkWorker(b *testing.B) {
	for _, perHost := range []int{DefaultPerHost, DefaultConcurrency} {
		b.Run(fmt.Sprintf("per_host=%d", perHost), func(b *testing.B) {
			rc := newReceiver(b, testSecret, nil, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			})
			st := newFakeStore()
			now := time.Now()
			for i := range b.N {
				st.add(herald.Delivery{
					ID: "dlv_" + strconv.Itoa(i), EventID: "evt_" + strconv.Itoa(i), EndpointID: "ep_1",
					URL: rc.URL + "/hooks", Secret: testSecret, Payload: benchPayload,
					NextAt: now, CreatedAt: now,
				})
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			startWorker(b, st, Options{AllowLoopback: true, PerHost: perHost})
			st.waitFor(b, "every delivery", func() bool { return st.delivered == b.N })
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
			st.mu.Lock()
			b.ReportMetric(float64(b.N)/float64(len(st.batches)), "outcomes/record")
			b.ReportMetric(float64(b.N)/float64(len(st.claims)), "deliveries/claim")
			st.mu.Unlock()
		})
	}
}

func BenchmarkSign(b *testing.B) {
	ts := time.Unix(vectorTS, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(testSecret, "evt_01JNQ2ZM4T", ts, benchPayload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	ts := time.Unix(vectorTS, 0)
	sig, _ := Sign(testSecret, "evt_01JNQ2ZM4T", ts, benchPayload)
	h := http.Header{}
	h.Set(HeaderID, "evt_01JNQ2ZM4T")
	h.Set(HeaderTimestamp, strconv.Itoa(vectorTS))
	h.Set(HeaderSignature, sig)
	b.ReportAllocs()
	for b.Loop() {
		if err := Verify(testSecret, h, benchPayload, ts, 0); err != nil {
			b.Fatal(err)
		}
	}
}
