package localnet

import (
	"fmt"
	"net"
	"testing"
)

// TestFreePortNeverRepeats: ports handed out in one process are distinct,
// outside the kernel's ephemeral range, and free when returned. With port
// 0, two calls in a row got the same port in CI.
func TestFreePortNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for range 300 {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		if p < freePortMin || p >= freePortMax {
			t.Fatalf("port %d outside [%d, %d)", p, freePortMin, freePortMax)
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		_ = l.Close()
	}
}
