//go:build !unix

package yuma

func processCPUNanos() int64 { return 0 }
