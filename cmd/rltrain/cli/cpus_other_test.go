//go:build !linux

package cli

import "testing"

func threadCPUs(*testing.T) []int            { return nil }
func allThreadCPUs(*testing.T) map[int][]int { return nil }
