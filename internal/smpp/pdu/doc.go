// Package pdu encodes and decodes SMPP 3.4 protocol data units.
//
// A PDU on the wire is a 16-byte header (command_length, command_id,
// command_status, sequence_number) followed by a command-specific body. This
// package maps every SMPP 3.4 command to a Go type implementing [Body],
// carries optional parameters as an ordered [TLVs] list (unknown tags are kept
// and written back unchanged), and names every command_status code.
//
// Decoding is defensive: it never panics on any input, never allocates from a
// length field before checking it against the bytes actually present, and
// refuses frames larger than a caller-chosen cap ([MaxLength] by default).
// A malformed PDU yields a *[DecodeError] carrying the command_status that a
// peer should answer with (generic_nack or the command's own response).
//
// The package imports only the standard library.
package pdu
