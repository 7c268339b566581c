package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2id's parameters: RFC 9106's second recommended option (64 MiB,
// one pass, four lanes), affordable on the district's VM for a login.
const (
	argonTime    = 1
	argonMemory  = 64 << 10 // KiB
	argonThreads = 4
	argonKeyLen  = 32
	argonSaltLen = 16
	// maxMemory bounds the memory (KiB) a stored hash may ask for: 1 GiB.
	maxMemory = 1 << 20
)

var b64 = base64.RawStdEncoding

// HashPassword hashes password with argon2id under a random salt, as a PHC
// string: $argon2id$v=19$m=65536,t=1,p=4$<salt>$<hash>.
func HashPassword(password string) (string, error) {
	return hashPassword(password, argonMemory)
}

// hashPassword is HashPassword with memory KiB (the tests' hashes are
// cheaper: CheckPassword honours any).
func hashPassword(password string, memory uint32) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, memory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches hash, a PHC string of
// HashPassword's (its own parameters are honoured, so they can change).
func CheckPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("password hash: not an argon2id PHC string")
	}
	var version int
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("password hash: version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return false, fmt.Errorf("password hash: parameters %q: %w", parts[3], err)
	}
	// argon2 panics on t=0 or p=0; a memory beyond maxMemory would let one
	// bad row take the VM's memory at every login.
	if time < 1 || threads < 1 || memory < 8*uint32(threads) || memory > maxMemory {
		return false, fmt.Errorf("password hash: parameters %q: want t ≥ 1, p ≥ 1, 8·p ≤ m ≤ %d", parts[3], maxMemory)
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("password hash: salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, fmt.Errorf("password hash: key: %w", err)
	}
	if len(want) == 0 {
		return false, errors.New("password hash: the key is empty")
	}
	got := argon2.IDKey([]byte(password), salt, time, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
