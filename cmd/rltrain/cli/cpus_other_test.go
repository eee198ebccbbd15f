//go:build !linux

package cli

import (
	"strconv"
	"testing"
)

func fmtInt(i int) string { return strconv.Itoa(i) }

func threadCPUs(*testing.T) []int            { return nil }
func allThreadCPUs(*testing.T) map[int][]int { return nil }
