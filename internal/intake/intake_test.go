package intake

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/smstext"
)

func testService() *Service {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	return New(Options{
		DefaultRegion: "GB", DefaultFrom: "Herald", MaxParts: 3,
		Route: func(*herald.Message) (Route, error) { return Route{Carrier: "sim"}, nil },
		CheckURL: func(raw string) error {
			if strings.Contains(raw, "10.0.0.1") {
				return errors.New("internal address")
			}
			return nil
		},
		Now: func() time.Time { return now },
	})
}

func TestBuildValidation(t *testing.T) {
	t.Parallel()
	s := testService()
	now := s.o.Now()
	past, future, far := now.Add(-time.Minute), now.Add(time.Hour), now.Add(40*24*time.Hour)
	tests := []struct {
		name  string
		req   Request
		code  string
		check func(*testing.T, *herald.Message)
	}{
		{name: "e164", req: Request{To: "+447911123456", Body: "hi"}, check: func(t *testing.T, m *herald.Message) {
			if m.To != "+447911123456" || m.From != "Herald" || m.Type != herald.TypeTransactional || m.Status != herald.StatusQueued {
				t.Errorf("%+v", m)
			}
		}},
		{name: "national with default region", req: Request{To: "07911 123456", Body: "hi"}, check: func(t *testing.T, m *herald.Message) {
			if m.To != "+447911123456" {
				t.Errorf("to %s", m.To)
			}
		}},
		{name: "invalid number", req: Request{To: "+44123", Body: "hi"}, code: "invalid_phone_number"},
		{name: "letters as number", req: Request{To: "call me", Body: "hi"}, code: "invalid_phone_number"},
		{name: "missing to", req: Request{Body: "hi"}, code: "invalid_phone_number"},
		{name: "alphanumeric sender too long", req: Request{To: "+447911123456", From: "ABCDEFGHIJKL", Body: "hi"}, code: "invalid_sender"},
		{name: "alphanumeric sender symbols", req: Request{To: "+447911123456", From: "Shop!", Body: "hi"}, code: "invalid_sender"},
		{name: "numeric sender", req: Request{To: "+447911123456", From: "+447911000000", Body: "hi"}},
		{name: "short code sender", req: Request{To: "+447911123456", From: "12345", Body: "hi"}},
		{name: "numeric sender too long", req: Request{To: "+447911123456", From: "1234567890123456", Body: "hi"}, code: "invalid_sender"},
		{name: "empty body", req: Request{To: "+447911123456"}, code: "empty_body"},
		{name: "unknown type", req: Request{To: "+447911123456", Body: "x", Type: "spam"}, code: "invalid_type"},
		{name: "three parts fit", req: Request{To: "+447911123456", Body: strings.Repeat("a", 153*3)}, check: func(t *testing.T, m *herald.Message) {
			if m.PartCount != 3 || len(m.Parts) != 3 || m.Parts[0].ESMClass != smstext.UDHI {
				t.Errorf("parts %d esm %x", m.PartCount, m.Parts[0].ESMClass)
			}
		}},
		{name: "four parts do not", req: Request{To: "+447911123456", Body: strings.Repeat("a", 153*3+1)}, code: "body_too_long"},
		{name: "ucs2", req: Request{To: "+447911123456", Body: "Привет"}, check: func(t *testing.T, m *herald.Message) {
			if m.Encoding != "ucs2" || m.Parts[0].DataCoding != 8 {
				t.Errorf("encoding %s dc %d", m.Encoding, m.Parts[0].DataCoding)
			}
		}},
		{name: "smart encoding keeps gsm7", req: Request{To: "+447911123456", Body: "“quoted” – fine…", SmartEncoding: true}, check: func(t *testing.T, m *herald.Message) {
			if m.Encoding != "gsm7" {
				t.Errorf("encoding %s", m.Encoding)
			}
		}},
		{name: "send_at in the past", req: Request{To: "+447911123456", Body: "x", SendAt: &past}, code: "invalid_send_at"},
		{name: "send_at too far", req: Request{To: "+447911123456", Body: "x", SendAt: &far}, code: "invalid_send_at"},
		{name: "scheduled", req: Request{To: "+447911123456", Body: "x", SendAt: &future, ValidityPeriod: 600}, check: func(t *testing.T, m *herald.Message) {
			if m.Status != herald.StatusScheduled || m.Parts[0].Status != herald.StatusScheduled || !m.ValidUntil.Equal(future.Add(10*time.Minute)) {
				t.Errorf("%s %s valid until %v", m.Status, m.Parts[0].Status, m.ValidUntil)
			}
		}},
		{name: "validity too short", req: Request{To: "+447911123456", Body: "x", ValidityPeriod: 5}, code: "invalid_validity_period"},
		{name: "callback to internal address", req: Request{To: "+447911123456", Body: "x", CallbackURL: "http://10.0.0.1/"}, code: "invalid_callback_url"},
		{name: "reference too long", req: Request{To: "+447911123456", Body: "x", Reference: strings.Repeat("r", 129)}, code: "invalid_reference"},
		{name: "metadata not an object", req: Request{To: "+447911123456", Body: "x", Metadata: []byte(`[1,2]`)}, code: "invalid_metadata"},
		{name: "metadata object", req: Request{To: "+447911123456", Body: "x", Metadata: []byte(`{"order":42}`)}, check: func(t *testing.T, m *herald.Message) {
			if string(m.Metadata) != `{"order":42}` {
				t.Errorf("metadata %s", m.Metadata)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := s.build("acc_1", &tc.req, now)
			if tc.code != "" {
				var he *herald.Error
				if !errors.As(err, &he) || he.Code != tc.code || he.Kind != herald.KindInvalid {
					t.Fatalf("got %v, want code %s", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}
