package dlr

// MessageType is the message type held in bits 5 to 2 (mask 0x3C) of a
// deliver_sm's esm_class (SMPP 3.4 §5.2.12). The bits form one value, not a
// set of flags: 0x0C, for example, is reserved, not "receipt and ack".
type MessageType uint8

// The deliver_sm message types.
const (
	MessageDefault           MessageType = 0x00 // an ordinary (mobile-originated) message
	MessageDeliveryReceipt   MessageType = 0x04 // SMSC delivery receipt
	MessageDeliveryAck       MessageType = 0x08 // SME delivery acknowledgement
	MessageUserAck           MessageType = 0x10 // SME manual/user acknowledgement
	MessageConversationAbort MessageType = 0x18 // conversation abort (Korean CDMA)
	MessageIntermediate      MessageType = 0x20 // intermediate delivery notification
)

// MessageTypeOf returns the message type of an esm_class octet.
func MessageTypeOf(esmClass uint8) MessageType {
	return MessageType(esmClass & 0x3C)
}

// IsReceipt reports whether a deliver_sm with this esm_class carries a
// receipt for Parse: an SMSC delivery receipt or an intermediate delivery
// notification, which uses the same text with a non-final stat. SME and
// user acknowledgements come from the recipient's handset or application,
// carry user data rather than receipt text, and are not receipts here.
func IsReceipt(esmClass uint8) bool {
	t := MessageTypeOf(esmClass)
	return t == MessageDeliveryReceipt || t == MessageIntermediate
}

// String returns a short lower-case name of t, or "message-type(0xNN)" for
// a reserved value.
func (t MessageType) String() string {
	switch t {
	case MessageDefault:
		return "default"
	case MessageDeliveryReceipt:
		return "delivery-receipt"
	case MessageDeliveryAck:
		return "delivery-ack"
	case MessageUserAck:
		return "user-ack"
	case MessageConversationAbort:
		return "conversation-abort"
	case MessageIntermediate:
		return "intermediate"
	}
	const hex = "0123456789abcdef"
	return "message-type(0x" + string([]byte{hex[t>>4], hex[t&0xF]}) + ")"
}
