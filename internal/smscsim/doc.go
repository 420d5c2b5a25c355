// Package smscsim is an SMSC simulator: an SMPP 3.4 server that accepts
// binds, answers submit_sm and data_sm with message ids, and sends
// delivery receipts and injected mobile-originated messages back, with
// configurable errors, receipt states and delays. It is the carrier that
// Herald's tests and benchmarks run against, and `herald smsc-sim` serves
// it on the command line; docs/smsc-sim.md describes its behaviour.
//
// A Simulator is built to stay out of the way of a benchmark: submits are
// answered inline on the bind's reader goroutine, ids come from an atomic
// counter, random draws are a hash of a seed and a counter (no lock, and
// reproducible with Options.Seed), counters are atomic (the one-second
// submit peak takes one short lock per submit), receipts and
// delayed responses wait in one calendar queue served by one goroutine,
// and each receiver bind has one goroutine that keeps a window of
// deliver_sm in flight.
//
// Receipts go to a receiver or transceiver bind of the system_id that
// submitted the message: the same bind when it can receive, else any
// other, else they wait in memory (up to Options.MaxPendingReceipts)
// until one binds. A deliver_sm answered with an error, or not answered,
// is sent again after Options.RetryDelay.
package smscsim
