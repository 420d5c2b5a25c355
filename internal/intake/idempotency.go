package intake

// Idempotency identifies a client's retry of a request. Key is the
// Idempotency-Key header ("" when the client sent none, and then the
// request is not idempotent); Hash is a SHA-256 of the canonical request
// (method, path and raw body), so that a key reused with different
// content can be told apart from a true retry.
type Idempotency struct {
	Key  string
	Hash []byte
}
