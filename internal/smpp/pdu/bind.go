package pdu

// Role is the kind of bind: transmitter, receiver or transceiver.
type Role uint8

// Bind roles.
const (
	Transmitter Role = iota + 1
	Receiver
	Transceiver
)

// String returns "transmitter", "receiver" or "transceiver".
func (r Role) String() string {
	switch r {
	case Transmitter:
		return "transmitter"
	case Receiver:
		return "receiver"
	case Transceiver:
		return "transceiver"
	}
	return "invalid_role"
}

// CanSend reports whether a session bound with r may submit messages.
func (r Role) CanSend() bool { return r == Transmitter || r == Transceiver }

// CanReceive reports whether a session bound with r receives deliver_sm.
func (r Role) CanReceive() bool { return r == Receiver || r == Transceiver }

// InterfaceVersion34 is the interface_version for SMPP 3.4.
const InterfaceVersion34 = 0x34

// Address is a TON, NPI and address triple.
type Address struct {
	TON  uint8
	NPI  uint8
	Addr string
}

// Bind is bind_transmitter, bind_receiver or bind_transceiver, by Role.
type Bind struct {
	Role             Role
	SystemID         string
	Password         string
	SystemType       string
	InterfaceVersion uint8
	AddrTON          uint8
	AddrNPI          uint8
	AddressRange     string
}

// CommandID implements Body.
func (b *Bind) CommandID() CommandID {
	switch b.Role {
	case Receiver:
		return BindReceiverID
	case Transceiver:
		return BindTransceiverID
	}
	return BindTransmitterID
}

func (b *Bind) encode(e *encoder) {
	e.cstring(b.SystemID, "system_id")
	e.cstring(b.Password, "password")
	e.cstring(b.SystemType, "system_type")
	e.u8(b.InterfaceVersion)
	e.u8(b.AddrTON)
	e.u8(b.AddrNPI)
	e.cstring(b.AddressRange, "address_range")
}

func (b *Bind) decode(d *decoder) {
	b.SystemID = d.cstring("system_id")
	b.Password = d.cstring("password")
	b.SystemType = d.cstring("system_type")
	b.InterfaceVersion = d.u8("interface_version")
	b.AddrTON = d.u8("addr_ton")
	b.AddrNPI = d.u8("addr_npi")
	b.AddressRange = d.cstring("address_range")
}

// BindResp is the response to a Bind of the same Role.
type BindResp struct {
	Role     Role
	SystemID string
	TLVs     TLVs // sc_interface_version
}

// CommandID implements Body.
func (b *BindResp) CommandID() CommandID {
	switch b.Role {
	case Receiver:
		return BindReceiverRespID
	case Transceiver:
		return BindTransceiverRespID
	}
	return BindTransmitterRespID
}

func (b *BindResp) encode(e *encoder) {
	e.cstring(b.SystemID, "system_id")
	e.tlvs(b.TLVs)
}

func (b *BindResp) omitOnError() bool { return b.SystemID == "" && len(b.TLVs) == 0 }

func (b *BindResp) decode(d *decoder) {
	b.SystemID = d.cstring("system_id")
	b.TLVs = d.tlvs()
}

// Outbind asks an ESME to bind_receiver to the SMSC that sent it.
type Outbind struct {
	SystemID string
	Password string
}

// CommandID implements Body.
func (*Outbind) CommandID() CommandID { return OutbindID }

func (b *Outbind) encode(e *encoder) {
	e.cstring(b.SystemID, "system_id")
	e.cstring(b.Password, "password")
}

func (b *Outbind) decode(d *decoder) {
	b.SystemID = d.cstring("system_id")
	b.Password = d.cstring("password")
}

// empty is embedded by the bodies that have no fields.
type empty struct{}

func (empty) encode(*encoder) {}
func (empty) decode(*decoder) {}

// Unbind asks the peer to end the session.
type Unbind struct{ empty }

// UnbindResp acknowledges an Unbind.
type UnbindResp struct{ empty }

// EnquireLink checks that the peer is alive.
type EnquireLink struct{ empty }

// EnquireLinkResp answers an EnquireLink.
type EnquireLinkResp struct{ empty }

// GenericNack refuses a PDU that could not be decoded or is not allowed.
type GenericNack struct{ empty }

// CancelSMResp answers a CancelSM.
type CancelSMResp struct{ empty }

// ReplaceSMResp answers a ReplaceSM.
type ReplaceSMResp struct{ empty }

// CommandID implements Body.
func (*Unbind) CommandID() CommandID { return UnbindID }

// CommandID implements Body.
func (*UnbindResp) CommandID() CommandID { return UnbindRespID }

// CommandID implements Body.
func (*EnquireLink) CommandID() CommandID { return EnquireLinkID }

// CommandID implements Body.
func (*EnquireLinkResp) CommandID() CommandID { return EnquireLinkRespID }

// CommandID implements Body.
func (*GenericNack) CommandID() CommandID { return GenericNackID }

// CommandID implements Body.
func (*CancelSMResp) CommandID() CommandID { return CancelSMRespID }

// CommandID implements Body.
func (*ReplaceSMResp) CommandID() CommandID { return ReplaceSMRespID }
