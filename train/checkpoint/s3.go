package checkpoint

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Store keeps a run's files in an S3-compatible bucket under a prefix.
// Each object is written whole, so a checkpoint's metadata object is its
// commit point, as on disk. minio-go is the client: well kept, small, and
// it speaks to any S3-compatible store (AWS, MinIO, Ceph, R2, ...).
type S3Store struct {
	client *minio.Client
	bucket string
	prefix string
}

// OpenStore returns the store for a run location: s3://bucket/prefix for
// an S3-compatible store, anything else a local directory.
func OpenStore(location string) (Store, error) {
	if strings.HasPrefix(location, "s3://") {
		return NewS3Store(location)
	}
	return LocalStore{Root: location}, nil
}

// NewS3Store connects to s3://bucket/prefix with the standard AWS
// environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
// AWS_REGION, and AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL for a store other
// than AWS (e.g. http://127.0.0.1:9000, path-style addressing).
func NewS3Store(uri string) (*S3Store, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, fmt.Errorf("s3 location %q: want s3://bucket/prefix", uri)
	}
	endpoint := "https://s3.amazonaws.com"
	lookup := minio.BucketLookupAuto
	for _, k := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"} {
		if v := os.Getenv(k); v != "" {
			endpoint, lookup = v, minio.BucketLookupPath
			break
		}
	}
	ep, err := url.Parse(endpoint)
	if err != nil || ep.Host == "" {
		return nil, fmt.Errorf("s3 endpoint %q: want a URL like https://host:port", endpoint)
	}
	client, err := minio.New(ep.Host, &minio.Options{
		Creds:        credentials.NewEnvAWS(),
		Secure:       ep.Scheme == "https",
		Region:       os.Getenv("AWS_REGION"),
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 %s: %w", uri, err)
	}
	return &S3Store{client: client, bucket: u.Host, prefix: strings.Trim(u.Path, "/")}, nil
}

func (s *S3Store) key(k string) string {
	if s.prefix == "" {
		return k
	}
	return s.prefix + "/" + k
}

// String returns s3://bucket/prefix.
func (s *S3Store) String() string { return "s3://" + s.bucket + "/" + s.prefix }

// Put uploads data as one object.
func (s *S3Store) Put(ctx context.Context, key string, data []byte) error {
	_, err := s.client.PutObject(ctx, s.bucket, s.key(key), bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", s, key, err)
	}
	return nil
}

// Get downloads key; a missing object wraps fs.ErrNotExist.
func (s *S3Store) Get(ctx context.Context, key string) ([]byte, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, s.key(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", s, key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil, fmt.Errorf("get %s/%s: %w", s, key, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("get %s/%s: %w", s, key, err)
	}
	return b, nil
}

// List returns the keys under prefix, sorted.
func (s *S3Store) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	full := s.prefix // prefix "" lists the whole run
	if p := strings.Trim(prefix, "/"); p != "" {
		full = s.key(p)
	}
	if full != "" {
		full += "/"
	}
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: full, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list %s/%s: %w", s, prefix, obj.Err)
		}
		k := obj.Key
		if s.prefix != "" {
			k = strings.TrimPrefix(k, s.prefix+"/")
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

// Delete removes key.
func (s *S3Store) Delete(ctx context.Context, key string) error {
	err := s.client.RemoveObject(ctx, s.bucket, s.key(key), minio.RemoveObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code != "NoSuchKey" {
		return fmt.Errorf("delete %s/%s: %w", s, key, err)
	}
	return nil
}
