package smppserver

import (
	"testing"
	"time"
)

func TestParseSMPPTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"000001020304000R", now.AddDate(0, 0, 1).Add(2*time.Hour + 3*time.Minute + 4*time.Second), true},
		{"261127130000000+", time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC), true},
		{"261127130000004+", time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), true}, // UTC+1h
		{"261127130000308-", time.Date(2026, 11, 27, 15, 0, 0, 300_000_000, time.UTC), true},
		{"261327130000000+", time.Time{}, false}, // month 13
		{"261127130000000X", time.Time{}, false},
		{"2611271300", time.Time{}, false},
		{"26112713000000a+", time.Time{}, false},
	}
	for _, tc := range cases {
		got, err := parseSMPPTime(tc.in, now)
		if (err == nil) != tc.ok || (tc.ok && !got.Equal(tc.want)) {
			t.Errorf("%s: %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
	if s := smppTime(time.Date(2026, 11, 27, 13, 4, 5, 0, time.UTC)); s != "261127130405000+" {
		t.Errorf("smppTime: %s", s)
	}
}
