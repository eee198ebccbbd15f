// Package checkpoint writes and finds crash-safe checkpoints in a run's
// Store: RUN/checkpoints/iter-NNNNNN/ holds one state file per part
// (weights, optimizer, ...) and metadata.json, written last. Metadata
// names every file with its size and CRC32C and ends with the CRC32C of
// its own bytes, so a checkpoint is complete only once its metadata is
// in place, and a damaged or partial one — any bit of any file — is
// recognised on load, set aside, and the previous good one used.
//
// The package stores bytes; what they mean (typed msgpack state) belongs
// to the algorithms. Loading a checkpoint never runs code.
package checkpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// FormatVersion is the version of the checkpoint layout written here.
// Version 2 added the metadata's own checksum; version 1 checkpoints
// (without it) are still read.
const FormatVersion = 2

// metaTrailer ends metadata.json: the CRC32C (Castagnoli) of every byte
// before it. It is the last key of the JSON object, so the file stays
// JSON that any tool reads.
const metaTrailer = ",\n  \"metadata_crc32c\": \"%08x\"\n}\n"

// metaTrailerStart is how metaTrailer begins, to find it.
const metaTrailerStart = ",\n  \"metadata_crc32c\": \""

// Dir is the directory of checkpoints inside a run.
const Dir = "checkpoints"

// MetadataFile is the name of the file that completes a checkpoint.
const MetadataFile = "metadata.json"

// Meta is a checkpoint's metadata.
type Meta struct {
	FormatVersion int       `json:"format_version"`
	Algorithm     string    `json:"algorithm"`
	Iteration     int       `json:"iteration"`
	EnvSteps      int64     `json:"env_steps"`
	Episodes      int64     `json:"episodes"`
	WeightsVer    uint64    `json:"weights_version"`
	CreatedAt     time.Time `json:"created_at"`
	// Config is the run's resolved config (YAML).
	Config string `json:"config"`
	// Files maps each state file's name to its size and checksum.
	Files map[string]FileSum `json:"files"`
}

// FileSum is a state file's size and CRC32C (Castagnoli).
type FileSum struct {
	Size   int64  `json:"size"`
	CRC32C uint32 `json:"crc32c"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Name returns the directory name of iteration's checkpoint (iter-000042).
func Name(iteration int) string { return fmt.Sprintf("iter-%06d", iteration) }

// Write stores files and then meta (with their checksums) as the
// checkpoint of meta.Iteration, and returns its key prefix.
func Write(ctx context.Context, s Store, meta Meta, files map[string][]byte) (string, error) {
	dir := path.Join(Dir, Name(meta.Iteration))
	meta.FormatVersion = FormatVersion
	meta.Files = make(map[string]FileSum, len(files))
	names := make([]string, 0, len(files))
	for name := range files {
		if name == MetadataFile || strings.ContainsAny(name, "/\\") || name == "" {
			return "", fmt.Errorf("checkpoint: bad file name %q", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		data := files[name]
		if err := s.Put(ctx, path.Join(dir, name), data); err != nil {
			return "", fmt.Errorf("checkpoint %s: %w", dir, err)
		}
		meta.Files[name] = FileSum{Size: int64(len(data)), CRC32C: crc32.Checksum(data, castagnoli)}
	}
	b, err := encodeMeta(meta)
	if err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if err := s.Put(ctx, path.Join(dir, MetadataFile), b); err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	return dir, nil
}

// Checkpoint is a verified checkpoint: its metadata and every file, whose
// checksums matched.
type Checkpoint struct {
	// Key is its key prefix in the store (checkpoints/iter-000042).
	Key   string
	Meta  Meta
	files map[string][]byte
}

// File returns the named state file.
func (c *Checkpoint) File(name string) ([]byte, error) {
	b, ok := c.files[name]
	if !ok {
		return nil, fmt.Errorf("checkpoint %s has no file %s", c.Key, name)
	}
	return b, nil
}

// ErrDamaged is wrapped by Load for a checkpoint that is incomplete or fails
// its checksums.
var ErrDamaged = errors.New("damaged or incomplete checkpoint")

// ErrUnsupported is wrapped by Load for an intact checkpoint in a format
// this rltrain does not read (written by a newer one).
var ErrUnsupported = errors.New("checkpoint format not supported")

// ErrNone is returned by Latest when the store holds no valid checkpoint.
var ErrNone = errors.New("no checkpoint")

// ErrNotFound is wrapped by Load when the key holds no file at all: a
// mistyped iteration, or one that checkpoint.keep has pruned. It is also
// fs.ErrNotExist to errors.Is; a checkpoint with some files and no
// metadata is ErrDamaged instead.
var ErrNotFound error = notFound{}

type notFound struct{}

func (notFound) Error() string        { return "no such checkpoint" }
func (notFound) Is(target error) bool { return target == fs.ErrNotExist }

// encodeMeta writes meta as indented JSON ending with metaTrailer.
func encodeMeta(meta Meta) ([]byte, error) {
	b, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return nil, err
	}
	body := bytes.TrimSuffix(b, []byte("\n}"))
	if len(body) == len(b) {
		return nil, fmt.Errorf("metadata JSON does not end in a closing brace")
	}
	return append(body, fmt.Sprintf(metaTrailer, crc32.Checksum(body, castagnoli))...), nil
}

// decodeMeta verifies and parses metadata.json. Errors wrap ErrDamaged
// (a checksum mismatch, bad JSON, a bad file name) or ErrUnsupported.
func decodeMeta(raw []byte) (Meta, error) {
	var meta Meta
	i := bytes.LastIndex(raw, []byte(metaTrailerStart))
	if i >= 0 {
		body := raw[:i]
		sum := crc32.Checksum(body, castagnoli)
		if want := fmt.Sprintf(metaTrailer, sum); string(raw[i:]) != want {
			return meta, fmt.Errorf("%s fails its checksum (its bytes have CRC32C %08x; the file ends %q): %w", MetadataFile, sum, raw[i:], ErrDamaged)
		}
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		return meta, fmt.Errorf("%s: %v: %w", MetadataFile, err, ErrDamaged)
	}
	switch {
	case i < 0 && meta.FormatVersion != 1:
		// Only version 1 was written without the checksum.
		return meta, fmt.Errorf("%s has no metadata_crc32c but says format version %d: %w", MetadataFile, meta.FormatVersion, ErrDamaged)
	case i >= 0 && meta.FormatVersion < 2:
		return meta, fmt.Errorf("%s says format version %d, which had no checksum: %w", MetadataFile, meta.FormatVersion, ErrDamaged)
	case meta.FormatVersion > FormatVersion:
		return meta, fmt.Errorf("format version %d, this rltrain reads up to %d: %w", meta.FormatVersion, FormatVersion, ErrUnsupported)
	}
	for name := range meta.Files {
		if name == "" || name == MetadataFile || name == "." || name == ".." || strings.ContainsAny(name, "/\\") {
			return meta, fmt.Errorf("%s names a bad file %q: %w", MetadataFile, name, ErrDamaged)
		}
	}
	if meta.Iteration < 1 {
		return meta, fmt.Errorf("%s says iteration %d: %w", MetadataFile, meta.Iteration, ErrDamaged)
	}
	return meta, nil
}

// Load reads and verifies the checkpoint at key (checkpoints/iter-NNNNNN).
func Load(ctx context.Context, s Store, key string) (*Checkpoint, error) {
	key = strings.TrimSuffix(key, "/")
	raw, err := s.Get(ctx, path.Join(key, MetadataFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if keys, lerr := s.List(ctx, key+"/"); lerr == nil && len(keys) == 0 {
				return nil, fmt.Errorf("checkpoint %s in %s: %w (%s)", key, s, ErrNotFound, held(ctx, s))
			}
			return nil, fmt.Errorf("checkpoint %s: no %s (it was never finished): %w", key, MetadataFile, ErrDamaged)
		}
		return nil, fmt.Errorf("checkpoint %s: %w", key, err)
	}
	meta, err := decodeMeta(raw)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", key, err)
	}
	if want := Name(meta.Iteration); path.Base(key) != want && strings.HasPrefix(path.Base(key), "iter-") {
		return nil, fmt.Errorf("checkpoint %s: %s says iteration %d: %w", key, MetadataFile, meta.Iteration, ErrDamaged)
	}
	c := &Checkpoint{Key: key, Meta: meta, files: map[string][]byte{}}
	for name, sum := range meta.Files {
		data, err := s.Get(ctx, path.Join(key, name))
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: %v: %w", key, err, ErrDamaged)
		}
		if int64(len(data)) != sum.Size || crc32.Checksum(data, castagnoli) != sum.CRC32C {
			return nil, fmt.Errorf("checkpoint %s: %s has %d bytes with CRC32C %08x, metadata says %d bytes %08x: %w",
				key, name, len(data), crc32.Checksum(data, castagnoli), sum.Size, sum.CRC32C, ErrDamaged)
		}
		c.files[name] = data
	}
	return c, nil
}

// held says which checkpoints s holds, for ErrNotFound's message.
func held(ctx context.Context, s Store) string {
	its, err := List(ctx, s)
	switch {
	case err != nil:
		return fmt.Sprintf("listing the checkpoints: %v", err)
	case len(its) == 0:
		return "it holds no checkpoints"
	}
	names := make([]string, len(its))
	for i, it := range its {
		names[len(its)-1-i] = Name(it)
	}
	return "it holds " + strings.Join(names, ", ")
}

// List returns the iterations that have a checkpoint directory (complete
// or not), newest first.
func List(ctx context.Context, s Store) ([]int, error) {
	keys, err := s.List(ctx, Dir)
	if err != nil {
		return nil, err
	}
	seen := map[int]bool{}
	var its []int
	for _, k := range keys {
		parts := strings.Split(k, "/")
		if len(parts) < 3 || parts[0] != Dir || !strings.HasPrefix(parts[1], "iter-") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(parts[1], "iter-"))
		if err != nil || seen[n] {
			continue
		}
		seen[n] = true
		its = append(its, n)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(its)))
	return its, nil
}

// Latest returns the newest valid checkpoint. Damaged or partial ones
// newer than it are moved aside to checkpoints/damaged/iter-NNNNNN, and
// intact ones in a format this rltrain cannot read to
// checkpoints/unsupported/iter-NNNNNN; each is reported in setAside (one
// error each, naming what was wrong). ErrNone means there is no valid
// checkpoint.
func Latest(ctx context.Context, s Store) (c *Checkpoint, setAside []error, err error) {
	its, err := List(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	for _, it := range its {
		key := path.Join(Dir, Name(it))
		c, err := Load(ctx, s, key)
		if err == nil {
			return c, setAside, nil
		}
		aside := "damaged"
		switch {
		case errors.Is(err, ErrNotFound):
			continue // pruned since List, by the run writing to s
		case errors.Is(err, ErrUnsupported):
			aside = "unsupported"
		case !errors.Is(err, ErrDamaged):
			return nil, setAside, err
		}
		if mvErr := move(ctx, s, key, path.Join(Dir, aside, Name(it))); mvErr != nil {
			return nil, setAside, fmt.Errorf("set aside %s: %w", key, mvErr)
		}
		setAside = append(setAside, err)
	}
	return nil, setAside, ErrNone
}

// Supersede moves every checkpoint newer than iteration to
// checkpoints/superseded/, so a run resumed from an older checkpoint does
// not later find the abandoned timeline's checkpoints as its latest. It
// returns the iterations moved.
func Supersede(ctx context.Context, s Store, iteration int) ([]int, error) {
	its, err := List(ctx, s)
	if err != nil {
		return nil, err
	}
	var moved []int
	for _, it := range its {
		if it <= iteration {
			continue
		}
		if err := move(ctx, s, path.Join(Dir, Name(it)), path.Join(Dir, "superseded", Name(it))); err != nil {
			return moved, err
		}
		moved = append(moved, it)
	}
	return moved, nil
}

func move(ctx context.Context, s Store, from, to string) error {
	keys, err := s.List(ctx, from)
	if err != nil {
		return err
	}
	for _, k := range keys {
		data, err := s.Get(ctx, k)
		if err != nil {
			return err
		}
		if err := s.Put(ctx, to+strings.TrimPrefix(k, from), data); err != nil {
			return err
		}
		if err := s.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// Prune deletes all but the newest keep complete checkpoints (keep <= 0
// keeps all). Incomplete ones older than the newest complete one go too.
func Prune(ctx context.Context, s Store, keep int) error {
	if keep <= 0 {
		return nil
	}
	its, err := List(ctx, s)
	if err != nil {
		return err
	}
	kept := 0
	for _, it := range its {
		key := path.Join(Dir, Name(it))
		_, err := s.Get(ctx, path.Join(key, MetadataFile))
		complete := err == nil
		if complete && kept < keep {
			kept++
			continue
		}
		if !complete && kept == 0 {
			continue // newer than every complete one: may still be being written
		}
		keys, err := s.List(ctx, key)
		if err != nil {
			return err
		}
		// Metadata first, so a crash mid-prune leaves an incomplete checkpoint, never a corrupt one.
		sort.Slice(keys, func(i, j int) bool {
			return strings.HasSuffix(keys[i], MetadataFile) && !strings.HasSuffix(keys[j], MetadataFile)
		})
		for _, k := range keys {
			if err := s.Delete(ctx, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// Config is the checkpoint section of a config (YAML key "checkpoint").
type Config struct {
	// Every is the number of iterations between checkpoints; 0 writes only
	// the final one (at the end of the run and on SIGINT/SIGTERM). Default 20.
	Every int `yaml:"every"`
	// Keep is how many complete checkpoints to keep (0 keeps all). Default 3.
	Keep int `yaml:"keep"`
	// Dir is where checkpoints go: "" (default) is RUN_DIR, or an
	// s3://bucket/prefix location (credentials from the AWS environment).
	Dir string `yaml:"dir,omitempty"`
}

// DefaultConfig returns every 20 iterations, keep 3, in the run directory.
func DefaultConfig() Config { return Config{Every: 20, Keep: 3} }

// Validate checks the counts.
func (c Config) Validate() error {
	switch {
	case c.Every < 0:
		return fmt.Errorf("every: want >= 0, got %d", c.Every)
	case c.Keep < 0:
		return fmt.Errorf("keep: want >= 0, got %d", c.Keep)
	case c.Dir != "" && strings.HasPrefix(c.Dir, "s3://") && len(c.Dir) <= len("s3://"):
		return fmt.Errorf("dir: want s3://bucket/prefix, got %q", c.Dir)
	}
	return nil
}
