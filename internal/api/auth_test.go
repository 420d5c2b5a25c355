package api

import (
	"net/http"
	"testing"
	"time"
)

func TestKeyCache(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	get := func(key string) int {
		resp, _ := h.do(req{method: "GET", path: "/v1/webhooks", key: key})
		return resp.StatusCode
	}
	for range 5 {
		if s := get(h.keyA); s != 200 {
			t.Fatalf("status %d", s)
		}
	}
	if n := h.st.lookups(); n != 1 {
		t.Errorf("%d store lookups for 5 requests with one key", n)
	}
	// A cached prefix with a wrong secret is still refused.
	if s := get(h.keyA[:12] + h.keyB[12:]); s != http.StatusUnauthorized {
		t.Errorf("wrong secret on a cached prefix: %d", s)
	}
	// The entry expires: the store is read again (a revoked key stops
	// working within the TTL).
	h.clock.advance(31 * time.Second)
	get(h.keyA)
	if n := h.st.lookups(); n != 2 {
		t.Errorf("%d lookups after expiry, want 2", n)
	}
	h.st.mu.Lock()
	clear(h.st.keys)
	h.st.mu.Unlock()
	h.clock.advance(31 * time.Second)
	if s := get(h.keyA); s != http.StatusUnauthorized {
		t.Errorf("revoked key: %d", s)
	}
}

func TestKeyCacheDisabled(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *Options) { o.KeyCacheTTL = -1 })
	for range 3 {
		h.do(req{method: "GET", path: "/v1/webhooks", key: h.keyA})
	}
	if n := h.st.lookups(); n != 3 {
		t.Errorf("%d lookups with the cache disabled, want 3", n)
	}
}

func TestKeyCacheBounded(t *testing.T) {
	t.Parallel()
	c := newKeyCache(time.Minute)
	now := time.Unix(0, 0)
	for i := range maxCachedKeys + 10 {
		p := string(rune('a'+i%26)) + time.Duration(i).String()
		c.put(p, nil, now)
	}
	if n := len(c.m); n > maxCachedKeys {
		t.Errorf("cache holds %d entries", n)
	}
}
