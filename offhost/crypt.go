package offhost

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
)

// ErrIdentity means the age identity is missing or matches none of the
// recipients a copy was encrypted to: nothing can be restored with it.
var ErrIdentity = errors.New("age identity")

// Encryption of a remote copy, as its manifest records it.
const (
	EncryptionAge  = "age"
	EncryptionNone = "none"
)

// recipients parses the configured public keys and the recipients file.
func (c *Config) recipients() ([]age.Recipient, error) {
	text := strings.Join(c.Recipients, "\n")
	if c.RecipientsFile != "" {
		data, err := os.ReadFile(c.RecipientsFile)
		if err != nil {
			return nil, fmt.Errorf("recipients file: %w", err)
		}
		text += "\n" + string(data)
	}
	rs, err := age.ParseRecipients(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("age recipients: %w (want age1… public keys, as age-keygen prints)", err)
	}
	return rs, nil
}

// recipientNames are the public keys, recorded in each manifest so that an
// operator knows which identity a copy needs.
func (c *Config) recipientNames() []string {
	var out []string
	rs, _ := c.recipients()
	for _, r := range rs {
		if s, ok := r.(fmt.Stringer); ok {
			out = append(out, s.String())
		}
	}
	return out
}

// LoadIdentities reads an age identity file. An empty path is ErrIdentity:
// encrypted copies cannot be read without one. Its mode is not checked: a key
// brought on a USB stick carries the stick's modes (vfat: 0755), and refusing
// it would make it no more secret.
func LoadIdentities(path string) ([]age.Identity, error) {
	if path == "" {
		return nil, fmt.Errorf("%w: the off-host copies are encrypted with age; give the identity file (AGE-SECRET-KEY-1…) with --offhost-identity or identityFile in the off-host config", ErrIdentity)
	}
	data, err := readLimitedFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w file: %w", ErrIdentity, err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w file %s: %w", ErrIdentity, path, err)
	}
	return ids, nil
}

// decrypt opens an age stream. A header no identity opens is ErrIdentity;
// a header that cannot be parsed is a corrupt copy.
func decrypt(r io.Reader, ids []age.Identity, recipients []string) (io.Reader, error) {
	if len(ids) == 0 {
		_, err := LoadIdentities("")
		return nil, err
	}
	out, err := age.Decrypt(r, ids...)
	var nomatch *age.NoIdentityMatchError
	switch {
	case errors.As(err, &nomatch):
		return nil, fmt.Errorf("%w: the identity matches none of the recipients this copy was encrypted to (%s): wrong identity file", ErrIdentity, strings.Join(recipients, ", "))
	case err != nil:
		return nil, fmt.Errorf("decrypt: %w", err)
	}
	return out, nil
}
