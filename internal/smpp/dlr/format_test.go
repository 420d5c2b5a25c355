package dlr

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// formatCases are the receipts the golden file pins, in order.
var formatCases = []struct {
	name string
	f    Formatter
	r    Receipt
}{
	{"delivered", Formatter{}, Receipt{
		ID: "0123456789", Submitted: 1, Delivered: 1,
		SubmitDate: date(2023, 1, 15, 12, 30, 45), DoneDate: date(2023, 1, 15, 12, 31, 2),
		State: StateDelivered, Err: "000", Text: "Your code is 123456",
	}},
	{"undelivered err 1", Formatter{}, Receipt{
		ID: "1A2B", Submitted: 1,
		SubmitDate: date(2023, 1, 15, 12, 30, 0), DoneDate: date(2023, 1, 15, 12, 35, 0),
		State: StateUndeliverable, Err: "1", Text: "Hello",
	}},
	{"seconds", Formatter{Dates: Date12}, Receipt{
		ID: "42", Submitted: 1, Delivered: 1,
		SubmitDate: date(2023, 1, 15, 12, 30, 45), DoneDate: date(2023, 1, 15, 12, 31, 2),
		State: StateDelivered, Text: "x",
	}},
	{"four-digit year", Formatter{Dates: Date14}, Receipt{
		ID: "42", Submitted: 1, Delivered: 1,
		SubmitDate: date(2023, 1, 15, 12, 30, 45), DoneDate: date(2023, 1, 15, 12, 31, 2),
		State: StateDelivered,
	}},
	{"location", Formatter{Location: time.FixedZone("UTC+3", 3*60*60)}, Receipt{
		ID: "42", Submitted: 1, Delivered: 1,
		SubmitDate: date(2023, 12, 31, 22, 30, 0), DoneDate: date(2023, 12, 31, 23, 59, 0),
		State: StateDelivered,
	}},
	{"zero dates and empty fields", Formatter{}, Receipt{ID: "1", State: StateEnroute}},
	{"text cut at 20 characters", Formatter{}, Receipt{
		ID: "1", Submitted: 1, State: StateAccepted, Err: "ERR123",
		Text: "This text is longer than twenty characters",
	}},
	{"unicode text cut at 20 runes", Formatter{}, Receipt{
		ID: "1", Submitted: 1, State: StateExpired, Text: "Привет, это длинное сообщение",
	}},
	{"raw stat when state is none", Formatter{}, Receipt{ID: "1", Stat: "WAITING"}},
	{"large and negative counts", Formatter{}, Receipt{ID: "1", Submitted: 1234, Delivered: -1, State: StateRejected}},
}

func TestFormatGolden(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	for _, c := range formatCases {
		fmt.Fprintf(&out, "# %s\n", c.name)
		out.Write(c.f.Format(&c.r))
		out.WriteByte('\n')
	}
	path := filepath.Join("testdata", "format.golden")
	if *update {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("Format output differs from %s (run with -update if intended)\n got:\n%s\nwant:\n%s", path, out.Bytes(), want)
	}
}

// sprintfFormat is the specification of AppendFormat: the canonical format
// string applied by package fmt.
func sprintfFormat(f Formatter, r *Receipt) string {
	dates := func(t time.Time) string {
		layout := map[DateLayout]string{Date10: "0601021504", Date12: "060102150405", Date14: "20060102150405"}[f.Dates]
		if t.IsZero() {
			return string(bytes.Repeat([]byte("0"), len(layout)))
		}
		loc := f.Location
		if loc == nil {
			loc = time.UTC
		}
		return t.In(loc).Format(layout)
	}
	stat := r.State.statText()
	if stat == "" {
		stat = r.Stat
	}
	err := r.Err
	if err == "" {
		err = "000"
	}
	return fmt.Sprintf("id:%s sub:%03d dlvrd:%03d submit date:%s done date:%s stat:%s err:%03s text:%.20s",
		r.ID, r.Submitted, r.Delivered, dates(r.SubmitDate), dates(r.DoneDate), stat, err, r.Text)
}

func TestAppendFormatMatchesSprintf(t *testing.T) {
	t.Parallel()
	for _, c := range formatCases {
		got := string(c.f.AppendFormat([]byte("prefix|"), &c.r))
		if want := "prefix|" + sprintfFormat(c.f, &c.r); got != want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, want)
		}
	}
	// Package-level helpers use the zero Formatter.
	r := formatCases[0].r
	if got, want := string(Format(&r)), string(Formatter{}.Format(&r)); got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
	if got, want := string(AppendFormat(nil, &r)), string(Format(&r)); got != want {
		t.Errorf("AppendFormat = %q, want %q", got, want)
	}
}

func TestFormatRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range formatCases {
		if c.f.Location != nil {
			continue
		}
		got, err := Parse(c.f.Format(&c.r))
		if err != nil {
			t.Errorf("%s: Parse(Format) = %v", c.name, err)
			continue
		}
		done := c.r.DoneDate
		if c.f.Dates == Date10 {
			done = done.Truncate(time.Minute)
		}
		if got.ID != c.r.ID || got.State != c.r.State || !got.DoneDate.Equal(done) {
			t.Errorf("%s: round trip gave id %q state %v done %v", c.name, got.ID, got.State, got.DoneDate)
		}
	}
}

func TestAppendFormatAllocs(t *testing.T) {
	r := formatCases[0].r
	buf := make([]byte, 0, 256)
	for _, f := range []Formatter{{}, {Dates: Date12, Location: time.FixedZone("X", 3600)}} {
		if n := testing.AllocsPerRun(100, func() { buf = f.AppendFormat(buf[:0], &r) }); n != 0 {
			t.Errorf("AppendFormat with %+v allocates %v times, want 0", f, n)
		}
	}
}
