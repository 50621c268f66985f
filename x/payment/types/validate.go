package types

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
)

// KeyHashLen is the length of a hex sha256.
const KeyHashLen = 64

// ValidateKeyHash checks a lowercase hex sha256 of an API key.
func ValidateKeyHash(h string) error {
	if len(h) != KeyHashLen || strings.ToLower(h) != h {
		return ErrInvalidKeyHash.Wrapf("want %d lowercase hex characters (sha256 of the API key), got %q", KeyHashLen, h)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return ErrInvalidKeyHash.Wrapf("%q is not hex", h)
	}
	return nil
}

// ValidateGatewayURL checks an announced gateway base URL: http or https,
// a host, no credentials, no query or fragment, at most maxLen bytes.
func ValidateGatewayURL(raw string, maxLen uint32) error {
	if uint64(len(raw)) > uint64(maxLen) {
		return ErrInvalidURL.Wrapf("%d bytes, at most %d", len(raw), maxLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ErrInvalidURL.Wrap(err.Error())
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return ErrInvalidURL.Wrapf("scheme must be http or https, got %q", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return ErrInvalidURL.Wrap("no host")
	case u.User != nil:
		return ErrInvalidURL.Wrap("credentials are not allowed in a public url")
	case u.RawQuery != "" || u.Fragment != "":
		return ErrInvalidURL.Wrap("query and fragment are not allowed")
	}
	for _, r := range raw {
		if r < 0x21 || r > 0x7e {
			return ErrInvalidURL.Wrap(fmt.Sprintf("character %q is not allowed", r))
		}
	}
	return nil
}
