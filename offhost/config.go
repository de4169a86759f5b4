package offhost

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/etcd-ramdisk/etcd-ramdisk/assets"
	"github.com/etcd-ramdisk/etcd-ramdisk/store"
	"sigs.k8s.io/yaml"
)

// DefaultConfigPath is where `etcd-ramdisk install` writes the target
// settings and where every command looks for them. Without the file, off-host
// copies are off.
const DefaultConfigPath = assets.OffhostConfigPath

// DefaultTimeout bounds one run's copying: past it the local backup ends
// with a warning and a later run catches up.
const DefaultTimeout = 5 * time.Minute

// Config is the content of the config file (YAML). Exactly one of Dir and S3
// names the target.
type Config struct {
	// Dir is a directory target: an NFS or SMB mount of a NAS.
	Dir string `json:"dir,omitempty"`
	// S3 is an S3-compatible bucket.
	S3 *S3Config `json:"s3,omitempty"`
	// Recipients are age X25519 public keys (age1…); every copy is encrypted
	// to all of them, and any one's identity decrypts it.
	Recipients []string `json:"recipients,omitempty"`
	// RecipientsFile holds more recipients, one per line (age's format).
	RecipientsFile string `json:"recipientsFile,omitempty"`
	// IdentityFile is an age identity (AGE-SECRET-KEY-1…) for restore and
	// verify; backups never need it, and it is best kept off the node.
	IdentityFile string `json:"identityFile,omitempty"`
	// InsecurePlaintext uploads snapshots unencrypted: every Kubernetes
	// Secret in clear on the target.
	InsecurePlaintext bool `json:"insecureUploadPlaintextSnapshotsWithAllSecrets,omitempty"`
	// Timeout bounds the copying of one run ("5m" by default).
	Timeout string `json:"timeout,omitempty"`
	// Keep is the remote retention policy, separate from the local one.
	Keep *Keep `json:"keep,omitempty"`

	path string
}

// S3Config says where the bucket is. Credentials never go here: they come
// from CredentialsFile or from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
type S3Config struct {
	Endpoint        string `json:"endpoint"` // https://host[:port]
	Bucket          string `json:"bucket"`
	Prefix          string `json:"prefix,omitempty"`
	Region          string `json:"region,omitempty"`
	PathStyle       bool   `json:"pathStyle,omitempty"`
	CAFile          string `json:"caFile,omitempty"`
	CredentialsFile string `json:"credentialsFile,omitempty"`
}

// Keep is a retention policy (see store.Policy); the newest remote copy is
// always kept.
type Keep struct {
	Last    int `json:"last"`
	Hourly  int `json:"hourly,omitempty"`
	Daily   int `json:"daily,omitempty"`
	Weekly  int `json:"weekly,omitempty"`
	Monthly int `json:"monthly,omitempty"`
}

// DefaultKeep keeps more history remotely than locally: the node's own disk
// is where the recent snapshots are.
func DefaultKeep() Keep { return Keep{Last: 10, Daily: 14, Weekly: 8, Monthly: 12} }

func (k Keep) policy() store.Policy {
	return store.Policy{Last: k.Last, Hourly: k.Hourly, Daily: k.Daily, Weekly: k.Weekly, Monthly: k.Monthly}
}

// Credentials for S3.
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// LoadConfig reads the config file at path. With optional set, a missing file
// means off-host copies are off (nil, nil).
func LoadConfig(path string, optional bool) (*Config, error) {
	data, err := readPrivate(path, false)
	if errors.Is(err, fs.ErrNotExist) && optional {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("off-host config: %w", err)
	}
	var c Config
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("off-host config %s: %w", path, err)
	}
	c.path = path
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("off-host config %s: %w", path, err)
	}
	return &c, nil
}

// Marshal renders the config as the file install writes.
func (c *Config) Marshal() ([]byte, error) {
	y, err := yaml.Marshal(c)
	if err != nil {
		return nil, err
	}
	head := "# Off-host copies of etcd-ramdisk's snapshots, written by `etcd-ramdisk install`\n" +
		"# and read by every etcd-ramdisk command (see its README). Root-only: mode 0600.\n"
	return append([]byte(head), y...), nil
}

// Validate checks the settings without touching the target.
func (c *Config) Validate() error {
	var errs []error
	switch {
	case c.Dir == "" && c.S3 == nil:
		errs = append(errs, errors.New("no target: set dir (a NAS mount) or s3"))
	case c.Dir != "" && c.S3 != nil:
		errs = append(errs, errors.New("both dir and s3 are set: choose one target"))
	case c.Dir != "" && !filepath.IsAbs(c.Dir):
		errs = append(errs, fmt.Errorf("dir %q is not an absolute path", c.Dir))
	case c.S3 != nil:
		if c.S3.Endpoint == "" || c.S3.Bucket == "" {
			errs = append(errs, errors.New("s3 needs endpoint and bucket"))
		}
		if strings.Contains(c.S3.Prefix, "..") {
			errs = append(errs, fmt.Errorf("s3 prefix %q contains ..", c.S3.Prefix))
		}
	}
	if c.InsecurePlaintext && (len(c.Recipients) > 0 || c.RecipientsFile != "") {
		errs = append(errs, errors.New("recipients and insecure plaintext both set: choose one"))
	}
	if !c.InsecurePlaintext && len(c.Recipients) == 0 && c.RecipientsFile == "" {
		errs = append(errs, errors.New("no age recipient: copies are encrypted to recipients (age1… public keys, from age-keygen); plaintext copies need insecureUploadPlaintextSnapshotsWithAllSecrets: true"))
	}
	if len(c.Recipients) > 0 || c.RecipientsFile != "" {
		if _, err := c.recipients(); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := c.timeout(); err != nil {
		errs = append(errs, err)
	}
	if c.Keep != nil && c.Keep.policy().Validate() != nil {
		errs = append(errs, fmt.Errorf("keep %+v has a negative count", *c.Keep))
	}
	return errors.Join(errs...)
}

func (c *Config) timeout() (time.Duration, error) {
	if c.Timeout == "" {
		return DefaultTimeout, nil
	}
	d, err := time.ParseDuration(c.Timeout)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("timeout %q is not a positive duration like 5m", c.Timeout)
	}
	return d, nil
}

func (c *Config) keep() Keep {
	if c.Keep == nil {
		return DefaultKeep()
	}
	return *c.Keep
}

// Encrypted says whether copies are encrypted.
func (c *Config) Encrypted() bool { return !c.InsecurePlaintext }

// Open connects to the target; nothing is sent yet.
func (c *Config) Open() (Target, error) {
	if c.Dir != "" {
		return openDir(c.Dir)
	}
	creds, err := c.credentials()
	if err != nil {
		return nil, err
	}
	return openS3(c.S3, creds)
}

// TargetName says where copies go, for logs and status.
func (c *Config) TargetName() string {
	if c.Dir != "" {
		return "dir " + c.Dir
	}
	return fmt.Sprintf("s3 %s bucket %s prefix %q", c.S3.Endpoint, c.S3.Bucket, c.S3.Prefix)
}

// credentials come from the credentials file, else from the AWS variables.
func (c *Config) credentials() (Credentials, error) {
	if f := c.S3.CredentialsFile; f != "" {
		data, err := readPrivate(f, true)
		if err != nil {
			return Credentials{}, fmt.Errorf("s3 credentials: %w", err)
		}
		cr := parseCredentials(data)
		if cr.AccessKeyID == "" || cr.SecretAccessKey == "" {
			return Credentials{}, fmt.Errorf("s3 credentials file %s: want aws_access_key_id and aws_secret_access_key (or AWS_ACCESS_KEY_ID=… and AWS_SECRET_ACCESS_KEY=… lines)", f)
		}
		return cr, nil
	}
	cr := Credentials{AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY"), SessionToken: os.Getenv("AWS_SESSION_TOKEN")}
	if cr.AccessKeyID == "" || cr.SecretAccessKey == "" {
		return Credentials{}, errors.New("s3 credentials: no credentialsFile in the off-host config and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set (cron and systemd pass no environment: use a credentials file)")
	}
	return cr, nil
}

// parseCredentials reads an AWS shared credentials file (its keys, any
// profile header ignored) or KEY=VALUE lines with the AWS variable names.
func parseCredentials(data []byte) Credentials {
	var cr Credentials
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(k, "export "))) {
		case "aws_access_key_id":
			cr.AccessKeyID = v
		case "aws_secret_access_key":
			cr.SecretAccessKey = v
		case "aws_session_token":
			cr.SessionToken = v
		}
	}
	return cr
}

// readLimitedFile reads a small regular file.
func readLimitedFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > 1<<20 {
		return nil, fmt.Errorf("%s is not a regular file of at most 1 MiB", path)
	}
	return os.ReadFile(path)
}

// readPrivate reads a small root-owned file that others cannot write to (a
// config naming where snapshots go) or, with secret, cannot read either
// (credentials, identities).
func readPrivate(path string, secret bool) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	perm := fi.Mode().Perm()
	if perm&0o022 != 0 || (secret && perm&0o044 != 0) {
		want := "0600"
		return nil, fmt.Errorf("%s has mode %04o: others could read or change it; chmod %s it", path, perm, want)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return nil, fmt.Errorf("%s is owned by uid %d, not by the current user (uid %d)", path, st.Uid, os.Geteuid())
	}
	if fi.Size() > 1<<20 {
		return nil, fmt.Errorf("%s is larger than 1 MiB", path)
	}
	return os.ReadFile(path)
}

// Probe checks that the target stores, returns and deletes an object, so
// that install stops before writing anything when copies could not work. A
// directory target gets its marker file first.
func Probe(ctx context.Context, cfg *Config) error {
	if cfg.Dir != "" {
		if err := initDir(cfg.Dir); err != nil {
			return err
		}
	}
	if cfg.Encrypted() {
		if _, err := cfg.recipients(); err != nil {
			return err
		}
	}
	t, err := cfg.Open()
	if err != nil {
		return err
	}
	const name = "etcd-ramdisk-probe"
	body := "written and removed by etcd-ramdisk install\n"
	if _, err := putVerified(ctx, t, name, strings.NewReader(body), int64(len(body))); err != nil {
		return fmt.Errorf("probe %s: %w", t, err)
	}
	if err := t.Delete(ctx, name); err != nil {
		return fmt.Errorf("probe %s: %w", t, err)
	}
	return nil
}
