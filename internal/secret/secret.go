// Package secret owns the encryption of secrets at rest (passwords of
// mailboxes, OAuth tokens, bot tokens, secret settings) with AES-256-GCM, and
// the server's key: from TANDEM_SECRET_KEY or a key file created once.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the AES-256 key length.
const KeySize = 32

// prefix marks a sealed value so that a stored plaintext (from a bug or a
// manual edit) is never mistaken for ciphertext.
const prefix = "v1:"

// ErrKey means the key cannot decrypt a value (wrong key or tampering).
var ErrKey = errors.New("secret: cannot decrypt (wrong key or corrupted value)")

// Box seals and opens secrets with one key.
type Box struct{ aead cipher.AEAD }

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext; the associated data binds the ciphertext to its
// place (e.g. "setting:GoogleClientSecret") so it cannot be copied elsewhere.
func (b *Box) Seal(plaintext, ad string) string {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("secret: crypto/rand failed: " + err.Error()) // cannot happen on supported platforms
	}
	ct := b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(ad))
	return prefix + base64.RawStdEncoding.EncodeToString(ct)
}

// Open decrypts a value produced by Seal with the same associated data.
func (b *Box) Open(sealed, ad string) (string, error) {
	raw, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", ErrKey
	}
	ct, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil || len(ct) < b.aead.NonceSize() {
		return "", ErrKey
	}
	n := b.aead.NonceSize()
	pt, err := b.aead.Open(nil, ct[:n], ct[n:], []byte(ad))
	if err != nil {
		return "", ErrKey
	}
	return string(pt), nil
}

// ErrNoKey is ReadKey's answer when neither TANDEM_SECRET_KEY nor the key
// file gives a key.
var ErrNoKey = errors.New("secret: no key")

// LoadKey returns the key from envValue (base64 of 32 bytes) or, when that is
// empty, from dataDir/secret.key, creating the file with mode 0600 on first
// start.
func LoadKey(envValue, dataDir string) ([]byte, error) {
	key, err := ReadKey(envValue, dataDir)
	if !errors.Is(err, ErrNoKey) {
		return key, err
	}
	path := filepath.Join(dataDir, "secret.key")
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	// O_EXCL: two processes starting at once must not each write a key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadKey("", dataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		return nil, fmt.Errorf("write key file: %w", err)
	}
	return key, f.Sync()
}

// ReadKey is LoadKey without creating a key: ErrNoKey when there is none. A
// process that uses an existing database must not make up a key, which could
// not open the secrets already stored.
func ReadKey(envValue, dataDir string) ([]byte, error) {
	if envValue != "" {
		return decodeKey(envValue, "TANDEM_SECRET_KEY")
	}
	path := filepath.Join(dataDir, "secret.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist and TANDEM_SECRET_KEY is not set", ErrNoKey, path)
	}
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	return decodeKey(strings.TrimSpace(string(b)), path)
}

func decodeKey(s, from string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s: not base64: %w", from, err)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("%s: key must be %d bytes, got %d", from, KeySize, len(key))
	}
	return key, nil
}
