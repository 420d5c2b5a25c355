// Package herald is the leaf domain of the platform: messages and their
// parts, the status state machine, accounts and API keys, webhook
// endpoints and events, and the application error type. It imports only
// the standard library; every other package speaks in its terms.
package herald
