package api

import (
	"math/rand/v2"
	"testing"
)

// plainEmail is a fast path: whatever it accepts, net/mail (mailEmail) must
// accept too. It may pass on anything else, which mailEmail then decides.
func TestPlainEmailImpliesMailEmail(t *testing.T) {
	for _, c := range []struct {
		s           string
		plain, mail bool
	}{
		{"jane.doe@acme-robotics.com", true, true},
		{"j+tag@mail.example.co.uk", true, true},
		{"o'brien!#$%&*/=?^_`{|}~-@x.io", true, true},
		{"a@b.c", true, true},
		{"a@localhost", false, false},   // no dot in the domain
		{"a.@b.io", false, false},       // trailing dot
		{".a@b.io", false, false},       // leading dot
		{"a..b@b.io", false, false},     // double dot
		{"a@b..io", false, false},       // double dot in the domain
		{"a@.b.io", false, false},       // leading dot in the domain
		{"a@b.io.", false, false},       // trailing dot in the domain
		{"a b@c.io", false, false},      // space
		{"a@b@c.io", false, false},      // two @
		{"@b.io", false, false},         // no local part
		{"a@", false, false},            // no domain
		{`"a b"@c.io`, false, false},    // quoted: net/mail unquotes, so not exactly s
		{"a@[10.0.0.1]", false, true},   // domain literal: net/mail decides
		{"jörg@bücher.de", false, true}, // UTF-8: net/mail decides
		{"Jane <jane@x.io>", false, false},
		{"jane@x.io (Jane)", false, false},
		{"a,b@c.io", false, false},
		{"a\\b@c.io", false, false},
	} {
		if got := plainEmail(c.s); got != c.plain {
			t.Errorf("plainEmail(%q) = %v, want %v", c.s, got, c.plain)
		}
		if got := mailEmail(c.s); got != c.mail {
			t.Errorf("mailEmail(%q) = %v, want %v", c.s, got, c.mail)
		}
	}
	// Random strings: mostly atext, with dots, '@' and the characters that
	// end an atom mixed in.
	atext, other := []rune("abZ0~-+_'!#/"), []rune("@.\"()<>[]:;\\, \t\x7fé")
	r := rand.New(rand.NewPCG(1, 2))
	accepted := 0
	for range 300_000 {
		rs := make([]rune, 1+r.IntN(14))
		for i := range rs {
			if r.IntN(6) == 0 {
				rs[i] = other[r.IntN(len(other))]
			} else {
				rs[i] = atext[r.IntN(len(atext))]
			}
		}
		if r.IntN(4) != 0 { // most get one '@' and a dot after it
			at := r.IntN(len(rs))
			rs[at] = '@'
			if at+2 < len(rs) {
				rs[at+1+r.IntN(len(rs)-at-1)] = '.'
			}
		}
		s := string(rs)
		if plainEmail(s) {
			accepted++
			if !mailEmail(s) {
				t.Fatalf("plainEmail accepts %q, net/mail does not", s)
			}
		}
	}
	t.Logf("%d of 300,000 random strings took the fast path", accepted)
	if accepted < 1000 {
		t.Fatalf("only %d random strings took the fast path: the generator tests too little", accepted)
	}
}

func FuzzPlainEmail(f *testing.F) {
	for _, s := range []string{"jane.doe@acme-robotics.com", "a@b.c", `"x"@y.z`, "a..b@c.d", "a@[1.2.3.4]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if plainEmail(s) && !mailEmail(s) {
			t.Fatalf("plainEmail accepts %q, net/mail does not", s)
		}
	})
}
