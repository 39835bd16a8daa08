package webhooksig_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/webhooksig"
)

// FuzzVerify checks that Verify never panics, that it accepts exactly the
// signature Sign produces (in either hex case), and that any other header is
// refused with one of the two sentinel errors.
func FuzzVerify(f *testing.F) {
	f.Add([]byte("hook-secret-0123456789"), "", []byte(`{}`), "1700000000")
	f.Add([]byte("k"), "sha256=", []byte(``), "")
	f.Add([]byte(""), "sha256="+string(bytes.Repeat([]byte("0"), 64)), []byte(`{"a":1}`), "")
	f.Add([]byte("hook-secret-0123456789"), "sha1=0123456789abcdef0123456789abcdef01234567", []byte("x"), "-1")
	f.Add([]byte("s"), "sha256=ZZ", []byte("\xff\xfe"), "99999999999999999999")
	f.Fuzz(func(t *testing.T, secret []byte, header string, body []byte, ts string) {
		content := webhooksig.Content(body, ts)
		err := webhooksig.Verify(secret, header, content)
		if err != nil && !errors.Is(err, webhooksig.ErrMalformed) && !errors.Is(err, webhooksig.ErrMismatch) {
			t.Fatalf("Verify returned an unexpected error %v", err)
		}
		good := webhooksig.Sign(secret, content)
		if err == nil && len(secret) == 0 {
			t.Fatalf("Verify accepted %q with an empty secret", header)
		}
		if err == nil && !bytes.EqualFold([]byte(header), []byte(good)) {
			t.Fatalf("Verify accepted %q, but the signature is %q", header, good)
		}
		if len(secret) > 0 {
			if verr := webhooksig.Verify(secret, good, content); verr != nil {
				t.Fatalf("Verify refused Sign's own signature: %v", verr)
			}
			if n, merr := webhooksig.Match([][]byte{[]byte("other"), secret}, good, content); merr != nil || (n != 1 && !bytes.Equal(secret, []byte("other"))) {
				t.Fatalf("Match = %d, %v", n, merr)
			}
		}
		if _, terr := webhooksig.CheckTimestamp(ts, time.Unix(1_700_000_000, 0), webhooksig.DefaultMaxSkew); terr != nil &&
			!errors.Is(terr, webhooksig.ErrTimestampMalformed) && !errors.Is(terr, webhooksig.ErrTimestampSkew) {
			t.Fatalf("CheckTimestamp(%q) returned an unexpected error %v", ts, terr)
		}
	})
}
