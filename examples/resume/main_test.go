package main

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestRun interrupts after 3 iterations, resumes to 6, and checks that
// progress.csv holds iterations 1..6 once each, in order.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	first, second, err := run(context.Background(), dir, 3, 6)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Interrupted || first.Last.Iteration != 3 {
		t.Fatalf("first run: interrupted %v at iteration %d; want interrupted at 3", first.Interrupted, first.Last.Iteration)
	}
	if second.StopReason != "iterations" || second.Last.Iteration != 6 {
		t.Fatalf("resumed run: stopped by %s at iteration %d; want iterations at 6", second.StopReason, second.Last.Iteration)
	}
	f, err := os.Open(filepath.Join(dir, "progress.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows[1:] {
		if it, _ := strconv.Atoi(row[0]); it != i+1 {
			t.Fatalf("progress.csv row %d is iteration %s; want %d (rows: %v)", i+1, row[0], i+1, rows)
		}
	}
	if len(rows) != 7 {
		t.Errorf("progress.csv has %d rows; want a header and 6", len(rows))
	}
}
