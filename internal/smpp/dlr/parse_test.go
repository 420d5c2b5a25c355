package dlr

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func date(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want Receipt
	}{
		{
			name: "smpp 3.4 appendix b",
			in:   "id:0123456789 sub:001 dlvrd:001 submit date:0610191018 done date:0610191018 stat:DELIVRD err:000 text:Hello World",
			want: Receipt{
				ID: "0123456789", TextID: "0123456789",
				Submitted: 1, HasSubmitted: true, Delivered: 1, HasDelivered: true,
				SubmitDate: date(2006, 10, 19, 10, 18, 0), DoneDate: date(2006, 10, 19, 10, 18, 0),
				State: StateDelivered, Stat: "DELIVRD", Err: "000", Text: "Hello World",
			},
		},
		{
			name: "kannel style capital Text",
			in:   "id:1034512 sub:001 dlvrd:001 submit date:1305050826 done date:1305050827 stat:DELIVRD err:000 Text:Test message from K",
			want: Receipt{
				ID: "1034512", TextID: "1034512",
				Submitted: 1, HasSubmitted: true, Delivered: 1, HasDelivered: true,
				SubmitDate: date(2013, 5, 5, 8, 26, 0), DoneDate: date(2013, 5, 5, 8, 27, 0),
				State: StateDelivered, Stat: "DELIVRD", Err: "000", Text: "Test message from K",
			},
		},
		{
			name: "jasmin style uuid id",
			in:   "id:5c9a8f8e-3f1b-4a8e-9d3c-2b7e6f1a0c44 sub:001 dlvrd:001 submit date:2301151230 done date:2301151231 stat:DELIVRD err:000 text:-",
			want: Receipt{
				ID: "5c9a8f8e-3f1b-4a8e-9d3c-2b7e6f1a0c44", TextID: "5c9a8f8e-3f1b-4a8e-9d3c-2b7e6f1a0c44",
				Submitted: 1, HasSubmitted: true, Delivered: 1, HasDelivered: true,
				SubmitDate: date(2023, 1, 15, 12, 30, 0), DoneDate: date(2023, 1, 15, 12, 31, 0),
				State: StateDelivered, Stat: "DELIVRD", Err: "000", Text: "-",
			},
		},
		{
			name: "all upper case",
			in:   "ID:ABCDEF01 SUB:001 DLVRD:000 SUBMIT DATE:2301151230 DONE DATE:2301151231 STAT:UNDELIV ERR:001 TEXT:HELLO",
			want: Receipt{
				ID: "ABCDEF01", TextID: "ABCDEF01",
				Submitted: 1, HasSubmitted: true, Delivered: 0, HasDelivered: true,
				SubmitDate: date(2023, 1, 15, 12, 30, 0), DoneDate: date(2023, 1, 15, 12, 31, 0),
				State: StateUndeliverable, Stat: "UNDELIV", Err: "001", Text: "HELLO",
			},
		},
		{
			name: "12-digit dates",
			in:   "id:77 sub:001 dlvrd:001 submit date:230115123045 done date:230115123112 stat:DELIVRD err:0 text:x",
			want: Receipt{
				ID: "77", TextID: "77",
				Submitted: 1, HasSubmitted: true, Delivered: 1, HasDelivered: true,
				SubmitDate: date(2023, 1, 15, 12, 30, 45), DoneDate: date(2023, 1, 15, 12, 31, 12),
				State: StateDelivered, Stat: "DELIVRD", Err: "0", Text: "x",
			},
		},
		{
			name: "14-digit dates with underscore keys",
			in:   "id:77 submit_date:20230115123045 done_date:20230115123112 stat:EXPIRED err:ERR123",
			want: Receipt{
				ID: "77", TextID: "77",
				SubmitDate: date(2023, 1, 15, 12, 30, 45), DoneDate: date(2023, 1, 15, 12, 31, 12),
				State: StateExpired, Stat: "EXPIRED", Err: "ERR123",
			},
		},
		{
			name: "submitdate and donedate one word",
			in:   "id:9 submitdate:2301151230 donedate:2301151231 stat:REJECTD err:045",
			want: Receipt{
				ID: "9", TextID: "9",
				SubmitDate: date(2023, 1, 15, 12, 30, 0), DoneDate: date(2023, 1, 15, 12, 31, 0),
				State: StateRejected, Stat: "REJECTD", Err: "045",
			},
		},
		{
			name: "missing text",
			in:   "id:2000123 sub:001 dlvrd:000 submit date:2402291159 done date:2402291200 stat:UNDELIV err:001",
			want: Receipt{
				ID: "2000123", TextID: "2000123",
				Submitted: 1, HasSubmitted: true, Delivered: 0, HasDelivered: true,
				SubmitDate: date(2024, 2, 29, 11, 59, 0), DoneDate: date(2024, 2, 29, 12, 0, 0),
				State: StateUndeliverable, Stat: "UNDELIV", Err: "001",
			},
		},
		{
			name: "hex id lower case",
			in:   "id:7f3a9c01 sub:001 dlvrd:001 submit date:2301151230 done date:2301151231 stat:delivrd err:000 text:",
			want: Receipt{
				ID: "7f3a9c01", TextID: "7f3a9c01",
				Submitted: 1, HasSubmitted: true, Delivered: 1, HasDelivered: true,
				SubmitDate: date(2023, 1, 15, 12, 30, 0), DoneDate: date(2023, 1, 15, 12, 31, 0),
				State: StateDelivered, Stat: "delivrd", Err: "000",
			},
		},
		{
			name: "extra imsi and mccmnc fields",
			in:   "id:55 sub:001 dlvrd:001 submit date:2301151230 done date:2301151231 stat:DELIVRD err:000 imsi:310150123456789 MCCMNC:310150 network:AT&T Mobility text:Hi",
			want: Receipt{
				ID: "55", TextID: "55",
				Submitted: 1, HasSubmitted: true, Delivered: 1, HasDelivered: true,
				SubmitDate: date(2023, 1, 15, 12, 30, 0), DoneDate: date(2023, 1, 15, 12, 31, 0),
				State: StateDelivered, Stat: "DELIVRD", Err: "000", Text: "Hi",
				Extra: []Field{{"imsi", "310150123456789"}, {"MCCMNC", "310150"}, {"network", "AT&T Mobility"}},
			},
		},
		{
			name: "nul terminated with padding",
			in:   "id:42 sub:001 dlvrd:001 submit date:2301151230 done date:2301151231 stat:DELIVRD err:000 text:Hello\x00\x00\x00",
			want: Receipt{
				ID: "42", TextID: "42",
				Submitted: 1, HasSubmitted: true, Delivered: 1, HasDelivered: true,
				SubmitDate: date(2023, 1, 15, 12, 30, 0), DoneDate: date(2023, 1, 15, 12, 31, 0),
				State: StateDelivered, Stat: "DELIVRD", Err: "000", Text: "Hello",
			},
		},
		{
			name: "text with colons and a spoofed field",
			in:   "id:42 stat:UNDELIV err:000 Text:Code: 1234 at 12:30 stat:DELIVRD id:99",
			want: Receipt{
				ID: "42", TextID: "42", State: StateUndeliverable, Stat: "UNDELIV", Err: "000",
				Text: "Code: 1234 at 12:30 stat:DELIVRD id:99",
			},
		},
		{
			name: "stat DELIVERED spelled out and err 0",
			in:   "id:1 sub:1 dlvrd:1 submit date:2301151230 done date:2301151231 stat:DELIVERED err:0 text:ok",
			want: Receipt{
				ID: "1", TextID: "1",
				Submitted: 1, HasSubmitted: true, Delivered: 1, HasDelivered: true,
				SubmitDate: date(2023, 1, 15, 12, 30, 0), DoneDate: date(2023, 1, 15, 12, 31, 0),
				State: StateDelivered, Stat: "DELIVERED", Err: "0", Text: "ok",
			},
		},
		{
			name: "stat UNDELIVERABLE and FAILED-like",
			in:   "id:1 stat:UNDELIVERABLE err:ERR123",
			want: Receipt{ID: "1", TextID: "1", State: StateUndeliverable, Stat: "UNDELIVERABLE", Err: "ERR123"},
		},
		{
			name: "fields in another order",
			in:   "stat:ACCEPTD err:000 done date:2301151231 id:AB12 submit date:2301151230 dlvrd:000 sub:001 text:later",
			want: Receipt{
				ID: "AB12", TextID: "AB12",
				Submitted: 1, HasSubmitted: true, Delivered: 0, HasDelivered: true,
				SubmitDate: date(2023, 1, 15, 12, 30, 0), DoneDate: date(2023, 1, 15, 12, 31, 0),
				State: StateAccepted, Stat: "ACCEPTD", Err: "000", Text: "later",
			},
		},
		{
			name: "extra whitespace tabs and crlf",
			in:   "  id:31   sub:001\tdlvrd:001  submit   date:2301151230\r\ndone date:2301151231   stat:ENROUTE    err:000  text:  spaced \r\n",
			want: Receipt{
				ID: "31", TextID: "31",
				Submitted: 1, HasSubmitted: true, Delivered: 1, HasDelivered: true,
				SubmitDate: date(2023, 1, 15, 12, 30, 0), DoneDate: date(2023, 1, 15, 12, 31, 0),
				State: StateEnroute, Stat: "ENROUTE", Err: "000", Text: "  spaced",
			},
		},
		{
			name: "nul separated fields",
			in:   "id:31\x00stat:DELIVRD\x00err:000\x00",
			want: Receipt{ID: "31", TextID: "31", State: StateDelivered, Stat: "DELIVRD", Err: "000"},
		},
		{
			name: "id with leading zeros kept as written",
			in:   "id:0000012345 stat:DELIVRD",
			want: Receipt{ID: "0000012345", TextID: "0000012345", State: StateDelivered, Stat: "DELIVRD"},
		},
		{
			name: "space after colon",
			in:   "id: 12345 sub: 001 stat: DELIVRD err: 000",
			want: Receipt{ID: "12345", TextID: "12345", Submitted: 1, HasSubmitted: true, State: StateDelivered, Stat: "DELIVRD", Err: "000"},
		},
		{
			name: "stat only, id in TLV",
			in:   "stat:DELIVRD err:000",
			want: Receipt{State: StateDelivered, Stat: "DELIVRD", Err: "000"},
		},
		{
			name: "unrecognised stat kept raw",
			in:   "id:7 stat:WAITING err:000",
			want: Receipt{ID: "7", TextID: "7", State: StateNone, Stat: "WAITING", Err: "000"},
		},
		{
			name: "numeric stat",
			in:   "id:7 stat:2",
			want: Receipt{ID: "7", TextID: "7", State: StateDelivered, Stat: "2"},
		},
		{
			name: "invalid dates and counts are zero",
			in:   "id:7 sub:one dlvrd:-1 submit date:2313011200 done date:2302301200 stat:EXPIRED",
			want: Receipt{ID: "7", TextID: "7", State: StateExpired, Stat: "EXPIRED"},
		},
		{
			name: "human dates with separators",
			in:   "id:7 submit date:2023-01-15 12:30:45 done date:23/01/15 12:31 stat:DELIVRD",
			want: Receipt{
				ID: "7", TextID: "7",
				SubmitDate: date(2023, 1, 15, 12, 30, 45), DoneDate: date(2023, 1, 15, 12, 31, 0),
				State: StateDelivered, Stat: "DELIVRD",
			},
		},
		{
			name: "repeated field goes to extra",
			in:   "id:1 id:2 stat:DELIVRD stat:UNDELIV",
			want: Receipt{
				ID: "1", TextID: "1", State: StateDelivered, Stat: "DELIVRD",
				Extra: []Field{{"id", "2"}, {"stat", "UNDELIV"}},
			},
		},
		{
			name: "leading garbage ignored",
			in:   "delivery report id:8 stat:DELIVRD",
			want: Receipt{ID: "8", TextID: "8", State: StateDelivered, Stat: "DELIVRD"},
		},
		{
			name: "id containing colon",
			in:   "id:abc:def stat:DELIVRD",
			want: Receipt{ID: "abc:def", TextID: "abc:def", State: StateDelivered, Stat: "DELIVRD"},
		},
		{
			name: "empty text at end",
			in:   "id:1 stat:DELIVRD err:000 text:",
			want: Receipt{ID: "1", TextID: "1", State: StateDelivered, Stat: "DELIVRD", Err: "000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseNotReceipt(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"",
		"\x00\x00\r\n",
		"Hello, this is an ordinary message",
		"text:id:1 stat:DELIVRD",
		"id: stat:",
		"sub:001 dlvrd:001 err:000",
		"imsi:310150123456789",
	} {
		r, err := Parse([]byte(in))
		if !errors.Is(err, ErrNotReceipt) {
			t.Errorf("Parse(%q) = %+v, %v; want ErrNotReceipt", in, r, err)
		}
	}
}

func TestParserLocation(t *testing.T) {
	t.Parallel()
	loc := time.FixedZone("UTC+3", 3*60*60)
	r, err := Parser{Location: loc}.Parse([]byte("id:1 submit date:2301151230 done date:230115123145 stat:DELIVRD"))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2023, 1, 15, 9, 30, 0, 0, time.UTC); !r.SubmitDate.Equal(want) {
		t.Errorf("SubmitDate = %v, want %v", r.SubmitDate, want)
	}
	if r.SubmitDate.Location() != loc {
		t.Errorf("SubmitDate location = %v, want %v", r.SubmitDate.Location(), loc)
	}
	if want := time.Date(2023, 1, 15, 9, 31, 45, 0, time.UTC); !r.DoneDate.Equal(want) {
		t.Errorf("DoneDate = %v, want %v", r.DoneDate, want)
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2301151230", date(2023, 1, 15, 12, 30, 0)},
		{"230115123045", date(2023, 1, 15, 12, 30, 45)},
		{"20230115123045", date(2023, 1, 15, 12, 30, 45)},
		{"202301151230", date(2023, 1, 15, 12, 30, 0)}, // not YYMMDDhhmmss (month 23): YYYYMMDDhhmm
		{"2023-01-15T12:30:45", date(2023, 1, 15, 12, 30, 45)},
		{"2402290000", date(2024, 2, 29, 0, 0, 0)},
		{"0000000000", time.Time{}},
		{"2302290000", time.Time{}}, // 2023 is not a leap year
		{"2301152400", time.Time{}},
		{"2301151260", time.Time{}},
		{"230115123060", time.Time{}},
		{"23011512", time.Time{}},
		{"230115123", time.Time{}},
		{"2301151230451", time.Time{}},
		{"230115123045123", time.Time{}},
		{"2301151230 trailing", date(2023, 1, 15, 12, 30, 0)},
		{"23O1151230", time.Time{}},
		{"", time.Time{}},
	}
	for _, tt := range tests {
		if got := parseDate(tt.in, time.UTC); !got.Equal(tt.want) {
			t.Errorf("parseDate(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestErrCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  string
		code int
		ok   bool
	}{
		{"000", 0, true},
		{"0", 0, true},
		{"042", 42, true},
		{"999999999", 999999999, true},
		{"1234567890", 0, false},
		{"ERR123", 0, false},
		{"0x0B", 0, false},
		{"-1", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		r := Receipt{Err: tt.err}
		code, ok := r.ErrCode()
		if code != tt.code || ok != tt.ok {
			t.Errorf("Receipt{Err: %q}.ErrCode() = %d, %v; want %d, %v", tt.err, code, ok, tt.code, tt.ok)
		}
	}
}

func TestExtraValue(t *testing.T) {
	t.Parallel()
	r, err := Parse([]byte("id:1 stat:DELIVRD IMSI:310150123456789 mccmnc:310150 text:x"))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := r.ExtraValue("imsi"); !ok || v != "310150123456789" {
		t.Errorf(`ExtraValue("imsi") = %q, %v`, v, ok)
	}
	if v, ok := r.ExtraValue("MCCMNC"); !ok || v != "310150" {
		t.Errorf(`ExtraValue("MCCMNC") = %q, %v`, v, ok)
	}
	if v, ok := r.ExtraValue("text"); ok {
		t.Errorf(`ExtraValue("text") = %q, true; want absent`, v)
	}
}
