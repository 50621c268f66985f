package types

import (
	"fmt"
	"net"
	"strconv"
	"unicode"
)

// ValidateEndpointAddress accepts host:port with a non-empty host, a port in
// 1-65535 and no spaces or control characters.
func ValidateEndpointAddress(addr string) error {
	if addr == "" || len(addr) > MaxEndpointAddressLen {
		return fmt.Errorf("address must be 1-%d characters", MaxEndpointAddressLen)
	}
	for _, r := range addr {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("address contains whitespace or control characters")
		}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address must be host:port: %v", err)
	}
	if host == "" {
		return fmt.Errorf("address has an empty host")
	}
	p, err := strconv.ParseUint(port, 10, 32)
	if err != nil || p == 0 || p > 65535 {
		return fmt.Errorf("port must be a number in 1-65535, got %q", port)
	}
	return nil
}

// ValidateModelID bounds a model id's length and forbids whitespace.
func ValidateModelID(id string) error {
	if id == "" || len(id) > MaxModelIDLen {
		return fmt.Errorf("model_id must be 1-%d characters", MaxModelIDLen)
	}
	for _, r := range id {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("model_id contains whitespace or control characters")
		}
	}
	return nil
}
