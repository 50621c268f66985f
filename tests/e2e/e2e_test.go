// Package e2e starts the demo topology from the built binaries on loopback —
// a chain, honest, slow and cheating miners, two validators and a delegator —
// and checks who gets paid, how much, and that the supply adds up.
package e2e_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "merit end-to-end")
}
