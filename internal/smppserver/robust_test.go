package smppserver

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/herald-sms/herald/internal/smpp"
	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// frame encodes a PDU for a raw connection.
func frame(t testing.TB, seq uint32, b pdu.Body) []byte {
	t.Helper()
	out, err := pdu.Append(nil, seq, pdu.StatusOK, b)
	if err != nil {
		t.Error(err)
	}
	return out
}

// attack opens a raw connection, binds when bind is set, writes payload,
// reads whatever comes back for a moment and hangs up.
func attack(t testing.TB, addr string, bind bool, payload []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Error(err) // may run on another goroutine: no Fatal
		return
	}
	defer c.Close()
	if bind {
		c.Write(frame(t, 1, &pdu.Bind{Role: pdu.Transceiver, SystemID: "acme", Password: testPassword}))
	}
	c.Write(payload)
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	io.Copy(io.Discard, c)
}

// answers connects, binds when asked, sends payload and returns the
// headers of the first n PDUs the server sends after the bind's answer
// (fewer if it closes the connection first, or after 5 s).
func answers(t testing.TB, addr string, bind bool, payload []byte, n int) []pdu.Header {
	t.Helper()
	if n == 0 {
		attack(t, addr, bind, payload)
		return nil
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if bind {
		c.Write(frame(t, 1, &pdu.Bind{Role: pdu.Transceiver, SystemID: "acme", Password: testPassword}))
	}
	c.Write(payload)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var out []pdu.Header
	skip := bind // the bind's own answer
	for len(out) < n {
		head := make([]byte, pdu.HeaderLen)
		if _, err := io.ReadFull(c, head); err != nil {
			break
		}
		h, _ := pdu.ParseHeader(head)
		if h.Length > pdu.HeaderLen {
			if _, err := io.CopyN(io.Discard, c, int64(h.Length-pdu.HeaderLen)); err != nil {
				break
			}
		}
		if skip {
			skip = false
			continue
		}
		out = append(out, h)
	}
	return out
}

// stillWorks checks that a bound session is served.
func stillWorks(t testing.TB, s *smpp.Session) {
	t.Helper()
	r, err := s.Send(t.Context(), &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{Addr: "Herald"},
		Dest: pdu.Address{Addr: "+447700900123"}, Message: []byte("still here")}})
	if err != nil || r.Err != nil || r.Status() != pdu.StatusOK {
		t.Fatalf("the good session is no longer served: %v %v %v", err, r.Err, r.Status())
	}
}

// TestMisbehavingClients: bad binds, floods of malformed PDUs, requests
// before binding, oversized lengths and abrupt disconnects affect only
// their own connection; a well-behaved session goes on being served.
func TestMisbehavingClients(t *testing.T) {
	t.Parallel()
	h := start(t, user("acme"))
	good, err := h.bind(t, "acme", testPassword, pdu.Transceiver, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub := frame(t, 2, &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{Addr: "Herald"},
		Dest: pdu.Address{Addr: "+447700900123"}, Message: []byte("x")}})
	badLen := make([]byte, 16)
	binary.BigEndian.PutUint32(badLen, 0xFFFFFFF0)
	binary.BigEndian.PutUint32(badLen[4:], uint32(pdu.SubmitSMID))
	unknownCmd := make([]byte, 16)
	binary.BigEndian.PutUint32(unknownCmd, 16)
	binary.BigEndian.PutUint32(unknownCmd[4:], 0x0000_0FFF)
	truncated := slices.Clone(sub[:len(sub)-5]) // a copy: sub stays whole
	binary.BigEndian.PutUint32(truncated, uint32(len(truncated)))
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 4096)
	for i := range garbage {
		garbage[i] = byte(rng.UintN(256))
	}
	var flood []byte
	for i := range 500 {
		flood = append(flood, unknownCmd...)
		if i%3 == 0 {
			flood = append(flood, truncated...)
		}
	}
	type answer struct {
		cmd    pdu.CommandID
		status pdu.Status
	}
	cases := []struct {
		name    string
		bind    bool
		payload []byte
		want    []answer // the server's first answers (after the bind's), when they are certain
	}{
		// Unknown system_id and wrong password get the same answer.
		{"bad password", false, frame(t, 1, &pdu.Bind{Role: pdu.Transceiver, SystemID: "acme", Password: "wrong"}),
			[]answer{{pdu.BindTransceiverRespID, pdu.StatusBindFail}}},
		{"unknown system_id", false, frame(t, 1, &pdu.Bind{Role: pdu.Transceiver, SystemID: "nobody", Password: "wrong"}),
			[]answer{{pdu.BindTransceiverRespID, pdu.StatusBindFail}}},
		{"submit before bind", false, sub, []answer{{pdu.SubmitSMRespID, pdu.StatusInvBndSts}}},
		{"huge command_length", true, badLen, []answer{{pdu.GenericNackID, pdu.StatusInvCmdLen}}},
		{"unknown command_id", true, unknownCmd, []answer{{pdu.GenericNackID, pdu.StatusInvCmdID}}},
		{"truncated submit_sm", true, truncated, []answer{{pdu.SubmitSMRespID, pdu.StatusInvCmdLen}}},
		{"random bytes", false, garbage, nil},
		{"random bytes after bind", true, garbage, nil},
		{"flood of malformed PDUs", true, flood, []answer{{pdu.GenericNackID, pdu.StatusInvCmdID}}},
		{"second bind", true, frame(t, 3, &pdu.Bind{Role: pdu.Transceiver, SystemID: "acme", Password: testPassword}),
			[]answer{{pdu.BindTransceiverRespID, pdu.StatusAlyBnd}}},
		{"abrupt disconnect mid-PDU", true, sub[:10], nil},
		{"deliver_sm from a client", true, frame(t, 4, &pdu.DeliverSM{}), []answer{{pdu.DeliverSMRespID, pdu.StatusInvCmdID}}},
	}
	for _, tc := range cases {
		got := answers(t, h.addr, tc.bind, tc.payload, len(tc.want))
		for i, w := range tc.want {
			if i >= len(got) || got[i].Command != w.cmd || got[i].Status != w.status {
				t.Errorf("%s: answers %v, want %v first", tc.name, got, tc.want)
				break
			}
		}
		stillWorks(t, good)
	}
	// Many concurrent abrupt connections.
	done := make(chan struct{})
	for range 20 {
		n := rng.IntN(len(garbage))
		go func() {
			defer func() { done <- struct{}{} }()
			attack(t, h.addr, true, garbage[:n])
		}()
	}
	for range 20 {
		<-done
	}
	stillWorks(t, good)
}

// FuzzClientSession feeds arbitrary bytes, after a valid bind, to a live
// server session and checks that another session is still served.
func FuzzClientSession(f *testing.F) {
	h := start(f, user("acme"))
	good, err := h.bind(f, "acme", testPassword, pdu.Transceiver, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{})
	f.Add(frame(f, 2, &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Source: pdu.Address{Addr: "Herald"},
		Dest: pdu.Address{Addr: "+447700900123"}, Message: []byte("x")}}))
	f.Add(frame(f, 2, &pdu.QuerySM{MessageID: "msg_1"}))
	f.Add(frame(f, 2, &pdu.CancelSM{MessageID: "msg_1"}))
	f.Add(frame(f, 2, &pdu.SubmitMulti{Dests: []pdu.MultiDest{{Address: pdu.Address{Addr: "+447700900123"}}, {DistList: "x"}}}))
	f.Add(frame(f, 2, &pdu.SubmitSM{ShortMessage: pdu.ShortMessage{Dest: pdu.Address{Addr: "+447700900123"},
		ESMClass: pdu.ESMClassUDHI, Message: []byte{5, 0, 3, 1, 2, 1, 'a'}}}))
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		attack(t, h.addr, true, data)
		stillWorks(t, good)
	})
}
