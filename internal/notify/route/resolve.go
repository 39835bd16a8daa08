package route

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// envName is the shape of an environment variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// SecretRef names where a secret is: an environment variable or a file
// (absolute, or relative to the callers file). The secret itself is never
// in the callers file.
type SecretRef struct {
	Env  string `json:"secret_env,omitempty"`
	File string `json:"secret_file,omitempty"`
}

// Resolve reads the secret; lookupEnv is os.LookupEnv in production.
// Errors name the reference, never the value.
func (r SecretRef) Resolve(dir string, lookupEnv func(string) (string, bool)) (string, error) {
	switch {
	case r.Env != "" && r.File != "":
		return "", errors.New("set secret_env or secret_file, not both")
	case r.Env != "":
		if !envName.MatchString(r.Env) {
			return "", errors.New("secret_env is not an environment variable name")
		}
		v, ok := lookupEnv(r.Env)
		if !ok || strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("secret_env: %s is not set", r.Env)
		}
		return strings.TrimSpace(v), nil
	case r.File != "":
		path := r.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("secret_file: %w", err)
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, 8<<10))
		if err != nil {
			return "", fmt.Errorf("secret_file: %w", err)
		}
		if strings.TrimSpace(string(data)) == "" {
			return "", fmt.Errorf("secret_file: %s is empty", r.File)
		}
		return strings.TrimSpace(string(data)), nil
	}
	return "", errors.New("needs secret_env or secret_file")
}
