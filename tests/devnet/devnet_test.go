// Package devnet_test runs the 4-validator devnet of networks/devnet as real
// processes on loopback and checks fault tolerance and state agreement.
package devnet_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestDevnet(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "devnet")
}
