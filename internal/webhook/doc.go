// Package webhook delivers Herald's events to applications: signed HTTP
// POSTs (Standard Webhooks, https://www.standardwebhooks.com), retried with
// backoff for days, sent only to public addresses.
//
// It has three parts:
//
//   - Signing: NewSecret, CheckSecret, Sign and Verify implement the
//     Standard Webhooks v1 scheme (HMAC-SHA256 over
//     "{webhook-id}.{webhook-timestamp}.{body}"). Verify is what a receiver
//     runs; Herald's own tests use it too.
//   - The SSRF guard: CheckURL validates a webhook URL when it is
//     created, and NewTransport returns an http.Transport that resolves
//     every host itself, refuses private, loopback, link-local and other
//     internal addresses before connecting, and connects to the address
//     it checked (so DNS rebinding cannot slip past it).
//   - The Worker claims due deliveries from the store, sends them with
//     bounded total and per-host concurrency, and records the outcome of
//     every attempt in batches.
//
// Delivery is at least once. A receiver may see the same event more than
// once (a lost response, a crash before the outcome was recorded, a lease
// that ran out); every attempt of one event carries the same webhook-id,
// which receivers use to deduplicate. docs/webhooks.md is the user-facing
// description.
package webhook
