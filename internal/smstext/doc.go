// Package smstext encodes, measures, splits and decodes the text of SMS
// messages for SMPP.
//
// Analyze tells how a text would be sent: which encoding (GSM 7-bit,
// possibly with a national language table of 3GPP TS 23.038, or UCS-2),
// how many parts, and how full each is. Split produces the octets of each
// part, with the user data header (UDH) or the SAR values the chosen
// concatenation method needs. Decode and ParseUDH read inbound messages.
//
// The rules it enforces are the ones gateways most often get wrong: a
// concatenated GSM-7 part holds 153 septets (152 with a 16-bit reference),
// an escaped character (€, [, ] and the like) is never separated from its
// escape septet, a surrogate pair is never split between UCS-2 parts, and
// the octets a national language information element takes are counted
// exactly, fill bits included.
//
// The package imports only the standard library, holds no mutable global
// state, and all its functions are safe for concurrent use.
package smstext
