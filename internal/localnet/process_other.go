//go:build !linux

package localnet

import "os/exec"

// dieWithParent has no portable equivalent off Linux; there the cleanups
// alone stop the children.
func dieWithParent(*exec.Cmd) {}
