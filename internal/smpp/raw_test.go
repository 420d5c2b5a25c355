package smpp_test

import (
	"bufio"
	"net"
	"testing"

	"github.com/herald-sms/herald/internal/smpp/pdu"
)

// rawPeer speaks SMPP by hand over a connection, to play a misbehaving or
// scripted peer.
type rawPeer struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
}

func newRawPeer(t testing.TB, c net.Conn) *rawPeer {
	return &rawPeer{t: t, conn: c, br: bufio.NewReader(c)}
}

func (p *rawPeer) send(seq uint32, status pdu.Status, b pdu.Body) {
	p.t.Helper()
	buf, err := pdu.Append(nil, seq, status, b)
	if err != nil {
		p.t.Fatalf("encode %s: %v", b.CommandID(), err)
	}
	p.write(buf)
}

func (p *rawPeer) write(b []byte) {
	p.t.Helper()
	if _, err := p.conn.Write(b); err != nil {
		p.t.Errorf("raw write: %v", err)
	}
}

// recv reads one PDU; ok is false when the connection ended.
func (p *rawPeer) recv() (pdu.Header, pdu.Body, bool) {
	frame, err := pdu.ReadFrame(p.br, nil, 0)
	if err != nil {
		return pdu.Header{}, nil, false
	}
	h, b, err := pdu.Decode(frame)
	if err != nil {
		p.t.Errorf("raw peer got undecodable %s: %v", h.Command, err)
		return h, nil, false
	}
	return h, b, true
}
