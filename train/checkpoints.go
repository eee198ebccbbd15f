package train

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rlgo/rlgo/algorithms"
	"github.com/rlgo/rlgo/train/checkpoint"
)

// checkpointer writes a run's checkpoints through its store.
type checkpointer struct {
	store  checkpoint.Store
	cfg    checkpoint.Config
	algo   algorithms.Checkpointer // nil: the algorithm cannot checkpoint
	name   string
	config []byte
	last   string // location of the last checkpoint written or restored
}

func newCheckpointer(dir string, cfg checkpoint.Config, algo algorithms.Algorithm, name string, configYAML []byte) (*checkpointer, error) {
	loc := dir
	if cfg.Dir != "" {
		loc = cfg.Dir
	}
	store, err := checkpoint.OpenStore(loc)
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	c := &checkpointer{store: store, cfg: cfg, name: name, config: configYAML}
	c.algo, _ = algo.(algorithms.Checkpointer)
	return c, nil
}

// due reports whether iteration r ends with a periodic checkpoint.
func (c *checkpointer) due(r algorithms.Result) bool {
	return c.algo != nil && c.cfg.Every > 0 && r.Iteration%c.cfg.Every == 0
}

// save writes the checkpoint of the iteration r just finished and prunes
// old ones.
func (c *checkpointer) save(ctx context.Context, r algorithms.Result) error {
	if c.algo == nil || r.Iteration == 0 {
		return nil
	}
	files, err := c.algo.SaveState()
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	meta := checkpoint.Meta{
		Algorithm: c.name, Iteration: r.Iteration, EnvSteps: r.EnvSteps, Episodes: r.Episodes,
		CreatedAt: time.Now().UTC(), Config: string(c.config),
	}
	if v, ok := c.algo.(interface{ WeightsVersion() uint64 }); ok {
		meta.WeightsVer = v.WeightsVersion()
	}
	key, err := checkpoint.Write(ctx, c.store, meta, files)
	if err != nil {
		return err
	}
	c.last = location(c.store, key)
	return checkpoint.Prune(ctx, c.store, c.cfg.Keep)
}

func location(s checkpoint.Store, key string) string {
	if ls, ok := s.(checkpoint.LocalStore); ok {
		return filepath.Join(ls.Root, filepath.FromSlash(key))
	}
	return s.String() + "/" + key
}

// restore loads the newest valid checkpoint into the algorithm. It returns
// the checkpoint's iteration, or 0 (and no error) when there is none yet.
//
// from, when not empty, names one checkpoint (iter-NNNNNN) to restore
// instead of the latest; it must be valid. check, when not nil, is
// called with the checkpoint before anything is changed (newer
// checkpoints moved aside, the state loaded); its error stops the resume.
func (c *checkpointer) restore(ctx context.Context, from string, log io.Writer, check func(*checkpoint.Checkpoint) error) (int, error) {
	if c.algo == nil {
		return 0, errors.New("resume: this algorithm cannot restore checkpoints")
	}
	var ck *checkpoint.Checkpoint
	var err error
	if from != "" {
		if ck, err = checkpoint.Load(ctx, c.store, checkpoint.Dir+"/"+from); err != nil {
			return 0, fmt.Errorf("resume: %w", err)
		}
	} else {
		var aside []error
		ck, aside, err = checkpoint.Latest(ctx, c.store)
		for _, a := range aside {
			fmt.Fprintf(log, "resume: set aside an unusable checkpoint, falling back to an earlier one: %v\n", a)
		}
		if errors.Is(err, checkpoint.ErrNone) {
			fmt.Fprintln(log, "resume: no checkpoint yet; starting over in the same run directory")
			return 0, nil
		}
		if err != nil {
			return 0, fmt.Errorf("resume: %w", err)
		}
	}
	if check != nil {
		if err := check(ck); err != nil {
			return 0, err
		}
	}
	if from != "" {
		moved, err := checkpoint.Supersede(ctx, c.store, ck.Meta.Iteration)
		if err != nil {
			return 0, fmt.Errorf("resume: %w", err)
		}
		if len(moved) > 0 {
			fmt.Fprintf(log, "resume: newer checkpoints %v moved to %s/superseded\n", moved, checkpoint.Dir)
		}
	}
	files := map[string][]byte{}
	for name := range ck.Meta.Files {
		if files[name], err = ck.File(name); err != nil {
			return 0, err
		}
	}
	notes, err := c.algo.LoadState(files)
	if err != nil {
		return 0, fmt.Errorf("resume from %s: %w", ck.Key, err)
	}
	for _, n := range notes {
		fmt.Fprintf(log, "resume: %s\n", n)
	}
	c.last = location(c.store, ck.Key)
	fmt.Fprintf(log, "resume: continuing from %s (iteration %d, %d env steps)\n", c.last, ck.Meta.Iteration, ck.Meta.EnvSteps)
	return ck.Meta.Iteration, nil
}

// truncateProgress keeps the rows of progress.csv and result.jsonl up to
// iteration keep (rows written after the checkpoint are redone by the
// resumed run), rewriting each file atomically.
func truncateProgress(dir string, keep int) error {
	csvPath := filepath.Join(dir, "progress.csv")
	data, err := os.ReadFile(csvPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	rows, _ := r.ReadAll() // a torn last line is dropped below
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	n := 0
	for i, row := range rows {
		if i > 0 {
			it, err := strconv.Atoi(row[0])
			if err != nil || it > keep || len(row) != len(rows[0]) {
				break
			}
			n++
		}
		w.Write(row)
	}
	w.Flush()
	if err := writeAtomic(csvPath, buf.Bytes()); err != nil {
		return err
	}
	jsonlPath := filepath.Join(dir, "result.jsonl")
	lines, err := os.ReadFile(jsonlPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var kept []byte
	for i, line := range bytes.SplitAfter(lines, []byte("\n")) {
		if i >= n || !bytes.HasSuffix(line, []byte("\n")) {
			break
		}
		kept = append(kept, line...)
	}
	return writeAtomic(jsonlPath, kept)
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
