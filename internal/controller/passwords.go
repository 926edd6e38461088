package controller

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
)

// passwordAlphabet avoids characters that are easy to mistype or that
// shells and YAML treat specially; 24 characters of it carry about 140 bits.
const (
	passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%*+-=?@^_"
	passwordLength   = 24
)

// newPassword returns a strong random password Spaces accepts (4 to 200
// characters).
func newPassword() (string, error) {
	var b strings.Builder
	max := big.NewInt(int64(len(passwordAlphabet)))
	for range passwordLength {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", err
		}
		b.WriteByte(passwordAlphabet[n.Int64()])
	}
	return b.String(), nil
}

// maxSecretKey is the longest key a Secret may have.
const maxSecretKey = 253

// passwordKey is the Secret key holding a user's password. Secret keys
// allow only letters, digits, '-', '_' and '.', so the other characters an
// email may hold are spelled out; '_' is doubled first, which keeps the
// mapping one-to-one: alice@corp.example -> alice_at_corp.example. An email
// whose spelled-out key would be too long (many '%', say) gets
// user-<sha256 of the email>: never a readable key, which always holds
// "_at_", so the two forms cannot meet.
func passwordKey(email string) string {
	if k := readablePasswordKey(email); len(k) <= maxSecretKey {
		return k
	}
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return "user-" + hex.EncodeToString(sum[:])
}

func readablePasswordKey(email string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(email) {
		switch {
		case r == '_':
			b.WriteString("__")
		case r == '@':
			b.WriteString("_at_")
		case r == '-' || r == '.' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "_x%02x_", r)
		}
	}
	return b.String()
}
