//go:build !unix

package inference

import "time"

// processCPU cannot tell here: the crew polls whatever the load.
func processCPU() time.Duration { return 0 }
