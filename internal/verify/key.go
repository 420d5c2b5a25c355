package verify

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the name of the key file in the data directory.
const KeyFile = "verify.key"

// minKey is the shortest key accepted: 256 bits.
const minKey = 32

// LoadKey returns the HMAC key for codes. value (the configuration's
// verify_key or HERALD_VERIFY_KEY) wins when set: hex or base64 of at
// least 32 bytes. Otherwise the key is read from dir/verify.key, which is
// created with 32 random bytes and mode 0600 when it does not exist. The
// key is never written to the database: a copy of the database alone
// cannot be used to test guesses offline.
func LoadKey(value, dir string) ([]byte, error) {
	if value != "" {
		return parseKey(value)
	}
	path := filepath.Join(dir, KeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return parseKey(strings.TrimSpace(string(b)))
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("verify: key file: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("verify: key file: %w", err)
	}
	key := make([]byte, minKey)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadKey("", dir) // another process made it first
	}
	if err != nil {
		return nil, fmt.Errorf("verify: key file: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("verify: key file: %w", err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return nil, fmt.Errorf("verify: key file: %w", err)
	}
	return key, nil
}

func parseKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil && len(b) >= minKey {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) >= minKey {
			return b, nil
		}
	}
	return nil, fmt.Errorf("verify: the key must be hex or base64 of at least %d bytes", minKey)
}
