package features

import (
	"encoding/json"
	"strings"
)

// unknownKey returns the first top-level key of the valid JSON b that is not
// a field of the contract. It walks the bytes instead of running a second
// decoder (json.Decoder.DisallowUnknownFields would also reject unknown
// props, which are allowed). Keys match like encoding/json: case-insensitively.
func unknownKey(b []byte) (string, bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return "", false
	}
	i++
	for {
		i = skipWS(b, i)
		if i >= len(b) || b[i] != '"' {
			return "", false // '}' or, for invalid input, anything: not our call
		}
		end := skipString(b, i)
		if kb := b[i+1 : end-1]; !knownKey(kb) {
			key := string(kb)
			if unescaped := ""; json.Unmarshal(b[i:end], &unescaped) == nil {
				if knownKey([]byte(unescaped)) { // rare: an escaped known key
					goto next
				}
				key = unescaped
			}
			return key, true
		}
	next:
		i = skipWS(b, end)
		i = skipValue(b, skipWS(b, i+1)) // past ':' and the value
		i = skipWS(b, i)
		if i >= len(b) || b[i] != ',' {
			return "", false
		}
		i++
	}
}

// knownKey matches k against the contract's keys without allocating; keys
// that are not plain ASCII take the slower path of strings.EqualFold, which
// folds like encoding/json does (e.g. the long s "ſ" matches "s").
func knownKey(k []byte) bool {
	for _, w := range wireKeys {
		if asciiEqualFold(k, w) {
			return true
		}
	}
	for _, c := range k {
		if c >= 0x80 {
			for _, w := range wireKeys {
				if strings.EqualFold(string(k), w) {
					return true
				}
			}
			break
		}
	}
	return false
}

func asciiEqualFold(k []byte, w string) bool {
	if len(k) != len(w) {
		return false
	}
	for i := range k {
		c := k[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string that starts at b[i].
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// skipValue returns the index just past the value that starts at b[i];
// b is known to be valid JSON, so only strings and nesting need care.
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			i = skipString(b, i)
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of the enclosing object: a scalar ended
			}
			if depth--; depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	return i
}
