package api

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/herald-sms/herald/internal/herald"
	"github.com/herald-sms/herald/internal/store"
)

// errUnauthorized is the one answer for a missing, malformed, unknown or
// wrong key, so that a caller learns nothing about which it was.
var errUnauthorized = apiError(herald.KindUnauthorized, codeUnauthorized,
	"a valid API key is required: Authorization: Bearer <key>")

// authenticate returns the account of the API key presented with r:
// "Authorization: Bearer KEY", or HTTP Basic with the key as the password
// (the user name is ignored; Twilio-style clients send an account id
// there) or, with an empty password, as the user name (curl -u KEY:).
func (s *Server) authenticate(r *http.Request) (string, error) {
	key, ok := presentedKey(r)
	if !ok {
		return "", errUnauthorized
	}
	prefix, ok := herald.APIKeyPrefix(key)
	if !ok {
		return "", errUnauthorized
	}
	now := s.now()
	k := s.keys.get(prefix, now)
	if k == nil {
		var err error
		k, err = s.store.APIKeyByPrefix(r.Context(), prefix)
		switch {
		case errors.Is(err, store.ErrNotFound) || herald.ErrorKind(err) == herald.KindNotFound:
			return "", errUnauthorized
		case err != nil:
			// Not a 401: a client told its key is bad would stop retrying.
			return "", errStoreUnavailable(err)
		case k == nil:
			return "", errUnauthorized
		}
	}
	// Cached or not, the secret is checked on every request, in
	// constant time.
	if !k.Matches(key) {
		return "", errUnauthorized
	}
	s.keys.put(prefix, k, now)
	return k.AccountID, nil
}

func presentedKey(r *http.Request) (string, bool) {
	if user, pass, ok := r.BasicAuth(); ok {
		if pass == "" {
			return user, user != ""
		}
		return pass, true
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// maxCachedKeys bounds the key cache; when it is full, expired entries
// are dropped, and if none had expired, all of them.
const maxCachedKeys = 4096

// keyCache keeps verified API key records for a short time, by prefix.
// It holds only records (hashes), never presented keys.
type keyCache struct {
	ttl time.Duration // <0: disabled

	mu sync.Mutex // guards m
	m  map[string]cachedKey
}

type cachedKey struct {
	key     *herald.APIKey
	expires time.Time
}

func newKeyCache(ttl time.Duration) *keyCache {
	return &keyCache{ttl: ttl, m: make(map[string]cachedKey)}
}

// get returns the record cached for prefix, or nil.
func (c *keyCache) get(prefix string, now time.Time) *herald.APIKey {
	if c.ttl < 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[prefix]
	if !ok {
		return nil
	}
	if !now.Before(e.expires) {
		delete(c.m, prefix)
		return nil
	}
	return e.key
}

// put caches k, unless it is already cached (its expiry is not extended:
// a revoked key must stop working within ttl of its last store read).
func (c *keyCache) put(prefix string, k *herald.APIKey, now time.Time) {
	if c.ttl < 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[prefix]; ok && e.key == k && now.Before(e.expires) {
		return
	}
	if len(c.m) >= maxCachedKeys {
		c.evictLocked(now)
	}
	c.m[prefix] = cachedKey{key: k, expires: now.Add(c.ttl)}
}

func (c *keyCache) evictLocked(now time.Time) {
	for p, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, p)
		}
	}
	if len(c.m) >= maxCachedKeys {
		clear(c.m)
	}
}
