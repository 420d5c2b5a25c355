// Package dlr reads and writes SMPP delivery receipts and turns carrier
// message ids into correlation keys.
//
// A delivery receipt arrives as a deliver_sm (or data_sm) whose esm_class
// marks it as one ([IsReceipt]). Its short_message usually carries the de
// facto text of SMPP 3.4 Appendix B:
//
//	id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...
//
// and SMPP 3.4 SMSCs may add the receipted_message_id, message_state and
// network_error_code TLVs. [Parse] reads the text tolerantly (any key case,
// any field order, missing and unknown fields, three date widths, trailing
// NULs); [Receipt.ApplyTLVs] overlays the TLVs, which win over the text.
// [AppendFormat] writes the canonical text, for Herald's SMSC simulator and
// for receipts Herald's own SMPP server sends to its clients.
//
// The id an SMSC returns in submit_sm_resp and the id it later puts in the
// receipt are often written differently (hex against decimal, leading zeros,
// letter case). [Keys] maps either id to canonical correlation keys so the
// two meet; see docs/receipts.md for the rule and its limits.
//
// Everything here is a pure function of its arguments: there is no shared
// state, and all functions and methods are safe for concurrent use on
// distinct values. The package imports only the standard library.
package dlr
