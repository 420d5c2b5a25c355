package pdu

import "testing"

func TestCommandID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id       CommandID
		name     string
		known    bool
		response CommandID
	}{
		{GenericNackID, "generic_nack", true, GenericNackID},
		{BindReceiverID, "bind_receiver", true, BindReceiverRespID},
		{BindReceiverRespID, "bind_receiver_resp", true, GenericNackID},
		{BindTransmitterID, "bind_transmitter", true, BindTransmitterRespID},
		{BindTransmitterRespID, "bind_transmitter_resp", true, GenericNackID},
		{QuerySMID, "query_sm", true, QuerySMRespID},
		{QuerySMRespID, "query_sm_resp", true, GenericNackID},
		{SubmitSMID, "submit_sm", true, SubmitSMRespID},
		{SubmitSMRespID, "submit_sm_resp", true, GenericNackID},
		{DeliverSMID, "deliver_sm", true, DeliverSMRespID},
		{DeliverSMRespID, "deliver_sm_resp", true, GenericNackID},
		{UnbindID, "unbind", true, UnbindRespID},
		{UnbindRespID, "unbind_resp", true, GenericNackID},
		{ReplaceSMID, "replace_sm", true, ReplaceSMRespID},
		{ReplaceSMRespID, "replace_sm_resp", true, GenericNackID},
		{CancelSMID, "cancel_sm", true, CancelSMRespID},
		{CancelSMRespID, "cancel_sm_resp", true, GenericNackID},
		{BindTransceiverID, "bind_transceiver", true, BindTransceiverRespID},
		{BindTransceiverRespID, "bind_transceiver_resp", true, GenericNackID},
		{OutbindID, "outbind", true, GenericNackID},
		{EnquireLinkID, "enquire_link", true, EnquireLinkRespID},
		{EnquireLinkRespID, "enquire_link_resp", true, GenericNackID},
		{SubmitMultiID, "submit_multi", true, SubmitMultiRespID},
		{SubmitMultiRespID, "submit_multi_resp", true, GenericNackID},
		{AlertNotificationID, "alert_notification", true, GenericNackID},
		{DataSMID, "data_sm", true, DataSMRespID},
		{DataSMRespID, "data_sm_resp", true, GenericNackID},
		{0x0000000A, "command_id(0x0000000A)", false, 0x8000000A},
		{0x00010200, "command_id(0x00010200)", false, 0x80010200},
		{0x8000000B, "command_id(0x8000000B)", false, GenericNackID},
		{0xFFFFFFFF, "command_id(0xFFFFFFFF)", false, GenericNackID},
	}
	if n := len(commandNames); n != 27 {
		t.Errorf("%d named commands; SMPP 3.4 has 27 (table 5.1.2.1)", n)
	}
	for _, tt := range tests {
		if got := tt.id.String(); got != tt.name {
			t.Errorf("CommandID(0x%08X).String() = %q; want %q", uint32(tt.id), got, tt.name)
		}
		if got := tt.id.Known(); got != tt.known {
			t.Errorf("%s.Known() = %v; want %v", tt.name, got, tt.known)
		}
		if got, want := tt.id.IsResponse(), tt.id&0x80000000 != 0; got != want {
			t.Errorf("%s.IsResponse() = %v; want %v", tt.name, got, want)
		}
		if got := tt.id.Response(); got != tt.response {
			t.Errorf("%s.Response() = %s; want %s", tt.name, got, tt.response)
		}
		body := NewBody(tt.id)
		switch {
		case tt.known && body == nil:
			t.Errorf("NewBody(%s) = nil", tt.name)
		case tt.known && body.CommandID() != tt.id:
			t.Errorf("NewBody(%s).CommandID() = %s", tt.name, body.CommandID())
		case !tt.known && body != nil:
			t.Errorf("NewBody(%s) = %T; want nil", tt.name, body)
		}
	}
}

func TestRole(t *testing.T) {
	t.Parallel()
	tests := []struct {
		role             Role
		name             string
		send, receive    bool
		command, respond CommandID
	}{
		{Transmitter, "transmitter", true, false, BindTransmitterID, BindTransmitterRespID},
		{Receiver, "receiver", false, true, BindReceiverID, BindReceiverRespID},
		{Transceiver, "transceiver", true, true, BindTransceiverID, BindTransceiverRespID},
		{0, "invalid_role", false, false, BindTransmitterID, BindTransmitterRespID},
	}
	for _, tt := range tests {
		if got := tt.role.String(); got != tt.name {
			t.Errorf("Role(%d).String() = %q; want %q", tt.role, got, tt.name)
		}
		if tt.role.CanSend() != tt.send || tt.role.CanReceive() != tt.receive {
			t.Errorf("%s: CanSend, CanReceive = %v, %v; want %v, %v", tt.name, tt.role.CanSend(), tt.role.CanReceive(), tt.send, tt.receive)
		}
		if got := (&Bind{Role: tt.role}).CommandID(); got != tt.command {
			t.Errorf("Bind{%s}.CommandID() = %s; want %s", tt.name, got, tt.command)
		}
		if got := (&BindResp{Role: tt.role}).CommandID(); got != tt.respond {
			t.Errorf("BindResp{%s}.CommandID() = %s; want %s", tt.name, got, tt.respond)
		}
	}
}

func TestShortMessageHelpers(t *testing.T) {
	t.Parallel()
	m := &ShortMessage{Message: []byte("short")}
	if string(m.Payload()) != "short" || m.UDHI() || m.IsReceipt() {
		t.Errorf("plain message: Payload %q, UDHI %v, IsReceipt %v", m.Payload(), m.UDHI(), m.IsReceipt())
	}
	m.TLVs.Set(TagMessagePayload, []byte("payload"))
	m.ESMClass = ESMClassUDHI | ESMClassReplyPath
	if string(m.Payload()) != "payload" || !m.UDHI() || m.IsReceipt() {
		t.Errorf("payload message: Payload %q, UDHI %v, IsReceipt %v", m.Payload(), m.UDHI(), m.IsReceipt())
	}
	for _, esm := range []uint8{ESMClassDeliveryReceipt, ESMClassIntermediate, ESMClassDeliveryReceipt | ESMClassUDHI} {
		if !(&ShortMessage{ESMClass: esm}).IsReceipt() {
			t.Errorf("esm_class 0x%02X: IsReceipt() = false", esm)
		}
	}
}
