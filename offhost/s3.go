package offhost

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// partSize bounds the memory of an upload whose size is not known in advance
// (an age stream): minio-go buffers one part. 16 MiB parts allow objects up
// to 160 GiB (10,000 parts), far above etcd's 8 GiB quota limit.
const partSize = 16 << 20

// s3Target keeps objects in a bucket under a prefix. A PUT, single or
// multipart, makes an object appear whole or not at all; an interrupted
// multipart upload is invisible to listings and removed by Clean.
type s3Target struct {
	c        *minio.Client
	endpoint string
	bucket   string
	prefix   string
}

func openS3(c *S3Config, creds Credentials) (*s3Target, error) {
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("s3 endpoint %q: want https://host[:port] (or http:// for a server on this machine)", c.Endpoint)
	}
	secure := u.Scheme == "https"
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("s3 caFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("s3 caFile %s holds no PEM certificate", c.CAFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	lookup := minio.BucketLookupDNS
	if c.PathStyle {
		lookup = minio.BucketLookupPath
	}
	cl, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
		Secure: secure, Transport: tr, Region: c.Region, BucketLookup: lookup,
		// A few retries ride out a blip; more would only spend the copy's
		// time bound on a server that is down.
		MaxRetries: 3,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client for %s: %w", c.Endpoint, err)
	}
	prefix := strings.TrimPrefix(c.Prefix, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &s3Target{c: cl, endpoint: c.Endpoint, bucket: c.Bucket, prefix: prefix}, nil
}

func (s *s3Target) String() string {
	return fmt.Sprintf("s3 %s bucket %s prefix %q", s.endpoint, s.bucket, s.prefix)
}

func (s *s3Target) key(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	return s.prefix + name, nil
}

func (s *s3Target) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	_, err = s.c.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{
		PartSize: partSize, ContentType: "application/octet-stream",
	})
	return s.err("put "+name, err)
}

func (s *s3Target) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	obj, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.err("get "+name, err)
	}
	// GetObject is lazy: Stat sends the request, so a missing object is
	// reported here rather than at the first Read.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		return nil, s.err("get "+name, err)
	}
	return obj, nil
}

func (s *s3Target) Stat(ctx context.Context, name string) (Object, error) {
	key, err := s.key(name)
	if err != nil {
		return Object{}, err
	}
	info, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Object{}, s.err("stat "+name, err)
	}
	return Object{Name: name, Size: info.Size, ModTime: info.LastModified}, nil
}

func (s *s3Target) List(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	for info := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if info.Err != nil {
			return nil, s.err("list "+prefix, info.Err)
		}
		out = append(out, Object{Name: strings.TrimPrefix(info.Key, s.prefix), Size: info.Size, ModTime: info.LastModified})
	}
	return out, nil
}

func (s *s3Target) Delete(ctx context.Context, name string) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	return s.err("delete "+name, s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}))
}

// Clean aborts the multipart uploads under the prefix that a killed or timed
// out run left; only one copy runs at a time per node (the off-host lock).
func (s *s3Target) Clean(ctx context.Context) ([]string, error) {
	var removed []string
	for up := range s.c.ListIncompleteUploads(ctx, s.bucket, s.prefix, true) {
		if up.Err != nil {
			return removed, s.err("list incomplete uploads", up.Err)
		}
		if err := s.c.RemoveIncompleteUpload(ctx, s.bucket, up.Key); err != nil {
			return removed, s.err("abort incomplete upload "+up.Key, err)
		}
		removed = append(removed, strings.TrimPrefix(up.Key, s.prefix))
	}
	return removed, nil
}

// err names the operation and marks the errors an operator can act on.
func (s *s3Target) err(op string, err error) error {
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	var netErr net.Error
	var urlErr *url.Error
	switch {
	case resp.Code == "NoSuchKey" || (resp.StatusCode == 404 && resp.Code != "NoSuchBucket"):
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	case resp.Code == "NoSuchBucket":
		return fmt.Errorf("%s: %w: %q on %s (create it first)", op, ErrNoBucket, s.bucket, s.endpoint)
	case resp.Code == "InvalidAccessKeyId" || resp.Code == "SignatureDoesNotMatch" || resp.Code == "AccessDenied" || resp.StatusCode == 403:
		return fmt.Errorf("%s: %w: %s (%s): check the credentials (credentialsFile or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and the bucket policy", op, ErrDenied, resp.Code, resp.Message)
	case resp.Code == "EntityTooLarge" || resp.Code == "QuotaExceeded" || resp.Code == "XMinioStorageFull" || resp.StatusCode == 507 ||
		strings.Contains(strings.ToLower(resp.Message), "no space"):
		return fmt.Errorf("%s: %w: %s: %s", op, ErrFull, resp.Code, resp.Message)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w: %s: %w", op, ErrUnreachable, s.endpoint, err)
	case errors.As(err, &netErr), errors.As(err, &urlErr):
		return fmt.Errorf("%s: %w: %s: %w", op, ErrUnreachable, s.endpoint, err)
	case resp.Code != "":
		return fmt.Errorf("%s: %s: %s (HTTP %d)", op, resp.Code, resp.Message, resp.StatusCode)
	}
	return fmt.Errorf("%s: %w", op, err)
}
