package http

import (
	"bytes"
	"os"

	"github.com/sextant-dev/sextant"
)

// SecretRef says where a secret lives, so that config files never hold one in
// clear: in the environment variable Env or in the file File (exactly one).
// It is resolved once, when the config is loaded.
type SecretRef struct {
	Env  string
	File string
}

// Resolve reads the secret. Trailing CR and LF are trimmed from a file's
// content (editors and `echo` add them); an environment variable is taken as
// is. A missing variable, an unreadable file, an empty secret or a reference
// naming both or neither place is an EINVALID error that names the variable
// or file, never the secret.
func (r SecretRef) Resolve() ([]byte, error) {
	switch {
	case r.Env != "" && r.File != "":
		return nil, sextant.Errorf(sextant.EINVALID, "secret names both environment variable %s and file %s: use one", r.Env, r.File)
	case r.Env != "":
		v, ok := os.LookupEnv(r.Env)
		if !ok {
			return nil, sextant.Errorf(sextant.EINVALID, "secret: environment variable %s is not set", r.Env)
		}
		if v == "" {
			return nil, sextant.Errorf(sextant.EINVALID, "secret: environment variable %s is empty", r.Env)
		}
		return []byte(v), nil
	case r.File != "":
		b, err := os.ReadFile(r.File)
		if err != nil {
			// The *fs.PathError names the file and the cause, not the content.
			return nil, sextant.Errorf(sextant.EINVALID, "secret: %v", err)
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 {
			return nil, sextant.Errorf(sextant.EINVALID, "secret: file %s is empty", r.File)
		}
		return b, nil
	default:
		return nil, sextant.Errorf(sextant.EINVALID, "secret: no environment variable or file given")
	}
}

// IsZero reports whether r names no place at all.
func (r SecretRef) IsZero() bool { return r.Env == "" && r.File == "" }
