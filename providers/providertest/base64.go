package providertest

import "strings"

// NonCanonicalBase64 re-encodes sig, the padded standard base64 of a MAC
// whose length leaves unused low bits in the last character (32 bytes:
// "…X="), with one of those bits set. A lenient decoder reads the same MAC
// from it; a verifier must not accept it, since only the canonical
// encoding is the signature the sender made.
func NonCanonicalBase64(sig string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := len(sig) - 2 // the character before the padding
	return sig[:i] + string(alphabet[strings.IndexByte(alphabet, sig[i])|1]) + sig[i+1:]
}
