package pdu

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the encoder")

// goldenCase is one PDU whose encoding is kept in testdata/<name>.golden.
type goldenCase struct {
	name   string // file name without .golden
	desc   string // written to the golden's comment line
	seq    uint32
	status Status
	body   Body
}

// goldenCases returns fresh values on every call, so that tests may
// normalise or otherwise modify them without sharing.
func goldenCases() []goldenCase {
	scInterfaceVersion := TLVs{{Tag: TagScInterfaceVersion, Value: []byte{InterfaceVersion34}}}
	herald := Address{TON: 5, NPI: 0, Addr: "Herald"}       // alphanumeric sender
	mobile := Address{TON: 1, NPI: 1, Addr: "447700900123"} // international, E.164
	return []goldenCase{
		{
			name: "bind_transmitter", seq: 1,
			desc: "the sample PDU of SMPP 3.4 section 3.2.2, byte for byte",
			body: &Bind{Role: Transmitter, SystemID: "SMPP3TEST", Password: "secret08", SystemType: "SUBMIT1",
				InterfaceVersion: 0x00, AddrTON: 1, AddrNPI: 1},
		},
		{
			name: "bind_transmitter_resp", seq: 1, desc: "with sc_interface_version 0x34",
			body: &BindResp{Role: Transmitter, SystemID: "HeraldSMSC", TLVs: scInterfaceVersion},
		},
		{
			name: "bind_receiver", seq: 2, desc: "SMPP 3.4, international ISDN address range",
			body: &Bind{Role: Receiver, SystemID: "herald-rx", Password: "pw", SystemType: "",
				InterfaceVersion: InterfaceVersion34, AddrTON: 1, AddrNPI: 1, AddressRange: "^44"},
		},
		{
			name: "bind_receiver_resp", seq: 2, desc: "with sc_interface_version 0x34",
			body: &BindResp{Role: Receiver, SystemID: "HeraldSMSC", TLVs: scInterfaceVersion},
		},
		{
			name: "bind_transceiver", seq: 3, desc: "SMPP 3.4, no address range",
			body: &Bind{Role: Transceiver, SystemID: "herald-trx", Password: "s3cr3t", SystemType: "VMA",
				InterfaceVersion: InterfaceVersion34},
		},
		{
			name: "bind_transceiver_resp", seq: 3, desc: "with sc_interface_version 0x34",
			body: &BindResp{Role: Transceiver, SystemID: "HeraldSMSC", TLVs: scInterfaceVersion},
		},
		{
			name: "outbind", seq: 4, desc: "SMSC asks the ESME to bind_receiver",
			body: &Outbind{SystemID: "HeraldSMSC", Password: "secret"},
		},
		{name: "unbind", seq: 5, desc: "header only", body: &Unbind{}},
		{name: "unbind_resp", seq: 5, desc: "header only", body: &UnbindResp{}},
		{name: "enquire_link", seq: 6, desc: "header only", body: &EnquireLink{}},
		{name: "enquire_link_resp", seq: 6, desc: "header only", body: &EnquireLinkResp{}},
		{
			name: "generic_nack", seq: 7, status: StatusInvCmdID,
			desc: "answer to an unknown command_id", body: &GenericNack{},
		},
		{
			name: "submit_sm", seq: 8,
			desc: "UCS2 segment 1/2 with a UDH, receipt requested, one known TLV and vendor TLV 0x1401",
			body: &SubmitSM{ShortMessage{
				Source:             herald,
				Dest:               mobile,
				ESMClass:           ESMClassUDHI,
				ValidityPeriod:     "000001000000000R", // relative: one day
				RegisteredDelivery: RegisteredDeliveryFinal,
				DataCoding:         0x08, // UCS2
				Message: []byte{
					0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, // UDH: concatenation, ref 0x2A, 1 of 2
					0x00, 'H', 0x00, 0xE9, 0x00, 'l', 0x00, 'l', 0x00, 'o', // "Héllo" in UCS-2BE
				},
				TLVs: TLVs{
					{Tag: TagUserMessageReference, Value: []byte{0x00, 0x17}},
					{Tag: 0x1401, Value: []byte{'h', 'x', 0x01}}, // vendor-specific, unknown here
				},
			}},
		},
		{
			name: "submit_sm_resp", seq: 8, desc: "message accepted",
			body: &SubmitSMResp{MessageID: "5f3a9c1e"},
		},
		{
			name: "submit_sm_resp_error", seq: 9, status: StatusThrottled,
			desc: "refused: no body, as SMPP 3.4 section 4.4.2 requires",
			body: &SubmitSMResp{},
		},
		{
			name: "deliver_sm_receipt", seq: 10,
			desc: "SMSC delivery receipt with receipted_message_id, message_state, network_error_code",
			body: &DeliverSM{ShortMessage{
				Source:   mobile,
				Dest:     herald,
				ESMClass: ESMClassDeliveryReceipt,
				Message:  []byte("id:5f3a9c1e sub:001 dlvrd:001 submit date:2611271130 done date:2611271131 stat:DELIVRD err:000 text:Hello"),
				TLVs: TLVs{
					{Tag: TagReceiptedMessageID, Value: []byte("5f3a9c1e\x00")},
					{Tag: TagMessageState, Value: []byte{2}},                 // DELIVERED
					{Tag: TagNetworkErrorCode, Value: []byte{3, 0x00, 0x00}}, // GSM, no error
				},
			}},
		},
		{
			name: "deliver_sm_resp", seq: 10, desc: "message_id unused (NULL)",
			body: &DeliverSMResp{},
		},
		{
			name: "data_sm", seq: 11, desc: "content in message_payload",
			body: &DataSM{
				ServiceType:        "WAP",
				Source:             herald,
				Dest:               mobile,
				RegisteredDelivery: RegisteredDeliveryFailure,
				TLVs: TLVs{
					{Tag: TagMessagePayload, Value: []byte("Your code is 424242. It expires in 10 minutes.")},
				},
			},
		},
		{
			name: "data_sm_resp", seq: 11, desc: "message accepted",
			body: &DataSMResp{MessageID: "5f3a9c1f"},
		},
		{
			name: "submit_multi", seq: 12, desc: "one SME address and one distribution list",
			body: &SubmitMulti{
				Source: herald,
				Dests: []MultiDest{
					{Address: mobile},
					{DistList: "vip-list"},
				},
				RegisteredDelivery: RegisteredDeliveryFinal,
				Message:            []byte("Hello both"),
			},
		},
		{
			name: "submit_multi_resp", seq: 12, desc: "two destinations refused",
			body: &SubmitMultiResp{
				MessageID: "m-42",
				Unsuccess: []UnsuccessSME{
					{Address: Address{TON: 1, NPI: 1, Addr: "447700900999"}, Status: StatusInvDstAdr},
					{Address: Address{TON: 2, NPI: 1, Addr: "07700900000"}, Status: StatusInvDstTON},
				},
			},
		},
		{
			name: "query_sm", seq: 13, desc: "state of a submitted message",
			body: &QuerySM{MessageID: "5f3a9c1e", Source: herald},
		},
		{
			name: "query_sm_resp", seq: 13, desc: "DELIVERED with an absolute final_date",
			body: &QuerySMResp{MessageID: "5f3a9c1e", FinalDate: "261127113100000+", MessageState: 2},
		},
		{
			name: "cancel_sm", seq: 14, desc: "cancel one message",
			body: &CancelSM{MessageID: "5f3a9c1e", Source: herald, Dest: mobile},
		},
		{name: "cancel_sm_resp", seq: 14, desc: "header only", body: &CancelSMResp{}},
		{
			name: "replace_sm", seq: 15, desc: "new text and validity",
			body: &ReplaceSM{MessageID: "5f3a9c1e", Source: herald, ValidityPeriod: "000002000000000R",
				RegisteredDelivery: RegisteredDeliveryFinal, Message: []byte("Updated text")},
		},
		{name: "replace_sm_resp", seq: 15, desc: "header only", body: &ReplaceSMResp{}},
		{
			name: "alert_notification", seq: 16, desc: "mobile available again",
			body: &AlertNotification{
				Source: mobile,
				ESME:   Address{TON: 1, NPI: 1, Addr: "447700900000"},
				TLVs:   TLVs{{Tag: TagMsAvailabilityStatus, Value: []byte{0}}}, // available
			},
		},
	}
}

func goldenPath(name string) string { return filepath.Join("testdata", name+".golden") }

func (c goldenCase) comment() string {
	return fmt.Sprintf("%s seq=%d status=%s: %s", c.body.CommandID(), c.seq, c.status.String(), c.desc)
}

// TestGolden checks every command type against its golden file: the
// encoding matches the file, the file decodes to the same value, and the
// decoded value encodes back to the same bytes. Run with -update to
// rewrite the files after a deliberate change, then review the diff.
func TestGolden(t *testing.T) {
	t.Parallel()
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := Append(nil, c.seq, c.status, c.body)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			path := goldenPath(c.name)
			text := dump(c.comment(), got)
			if *update {
				if err := os.WriteFile(path, text, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			file, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			want, err := undump(file)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encoding differs from %s at offset %d\ngot:\n%s", path, firstDiff(got, want), text)
			}
			if !bytes.Equal(file, text) {
				t.Errorf("%s is not in canonical form (comment or layout); run go test -update", path)
			}

			h, body, err := Decode(want)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if h.Length != uint32(len(want)) || h.Command != c.body.CommandID() || h.Status != c.status || h.Seq != c.seq {
				t.Errorf("header = %+v; want length %d, %s, %s, seq %d", h, len(want), c.body.CommandID(), c.status, c.seq)
			}
			if !deepEqualBodies(body, c.body) {
				t.Errorf("Decode body:\n got %#v\nwant %#v", body, c.body)
			}

			again, err := Append(nil, h.Seq, h.Status, body)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			if !bytes.Equal(again, want) {
				t.Errorf("re-encoding the decoded body differs at offset %d", firstDiff(again, want))
			}
		})
	}
}

// TestGoldenCoverage makes sure every command has a golden file and that no
// golden file is left without a case.
func TestGoldenCoverage(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{}
	commands := map[CommandID]bool{}
	for _, c := range goldenCases() {
		if cases[c.name] {
			t.Errorf("duplicate golden case %q", c.name)
		}
		cases[c.name] = true
		commands[c.body.CommandID()] = true
	}
	for id := range commandNames {
		if !commands[id] {
			t.Errorf("no golden case for %s", id)
		}
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".golden"); !cases[name] {
			t.Errorf("%s has no case in goldenCases", f)
		}
	}
}

// dump formats a PDU as the golden file text: one comment line naming the
// PDU, then 16 octets a line with the offset and an ASCII column.
func dump(comment string, b []byte) []byte {
	var w bytes.Buffer
	fmt.Fprintf(&w, "# %s\n", comment)
	for off := 0; off < len(b); off += 16 {
		line := b[off:min(off+16, len(b))]
		fmt.Fprintf(&w, "%04x ", off)
		for i := range 16 {
			if i == 8 {
				w.WriteByte(' ')
			}
			if i < len(line) {
				fmt.Fprintf(&w, " %02x", line[i])
			} else {
				w.WriteString("   ")
			}
		}
		w.WriteString("  |")
		for _, c := range line {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			w.WriteByte(c)
		}
		w.WriteString("|\n")
	}
	return w.Bytes()
}

// undump parses the text written by dump. Lines starting with # are
// comments; on the other lines the first field is the offset (checked),
// the hex octets follow, and anything from the first | is ignored.
func undump(text []byte) ([]byte, error) {
	var out []byte
	for n, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexByte(line, '|'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		off, err := strconv.ParseUint(f[0], 16, 32)
		if err != nil || off != uint64(len(out)) {
			return nil, fmt.Errorf("line %d: offset %q, want %04x", n+1, f[0], len(out))
		}
		for _, h := range f[1:] {
			v, err := strconv.ParseUint(h, 16, 8)
			if err != nil || len(h) != 2 {
				return nil, fmt.Errorf("line %d: bad octet %q", n+1, h)
			}
			out = append(out, byte(v))
		}
	}
	return out, nil
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// deepEqualBodies compares two bodies with reflect.DeepEqual after
// normalising empty slices to nil: the codec decodes an absent
// short_message, TLV list or destination list as nil and a zero-length
// TLV value as an empty slice, and either is a faithful decoding.
func deepEqualBodies(a, b Body) bool {
	normalize(reflect.ValueOf(a))
	normalize(reflect.ValueOf(b))
	return reflect.DeepEqual(a, b)
}

func normalize(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			normalize(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				normalize(f)
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			if v.CanSet() {
				v.SetZero()
			}
			return
		}
		for i := range v.Len() {
			normalize(v.Index(i))
		}
	}
}
