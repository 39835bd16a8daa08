package servicenow

import (
	"errors"
	"os"

	"github.com/patchbay/patchbay/internal/notify/route"
)

// EnvConfig is the ServiceNow destination's environment configuration; the
// destination is enabled when NOTIFY_SERVICENOW_URL is set.
type EnvConfig struct {
	URL          string `env:"NOTIFY_SERVICENOW_URL"`
	User         string `env:"NOTIFY_SERVICENOW_USER"`
	Password     string `env:"NOTIFY_SERVICENOW_PASSWORD" json:"-"`
	PasswordFile string `env:"NOTIFY_SERVICENOW_PASSWORD_FILE"`
	Token        string `env:"NOTIFY_SERVICENOW_TOKEN" json:"-"`
	TokenFile    string `env:"NOTIFY_SERVICENOW_TOKEN_FILE"`
}

// Enabled reports whether ServiceNow is configured.
func (e EnvConfig) Enabled() bool { return e.URL != "" }

// Validate checks the variables and reads the secret files; the error names
// the variable, never a secret.
func (e *EnvConfig) Validate() error {
	read := func(name, file string, into *string) error {
		if file == "" {
			return nil
		}
		if *into != "" {
			return errors.New(name + "_FILE: set it or " + name + ", not both")
		}
		v, err := route.SecretRef{File: file}.Resolve(".", os.LookupEnv)
		if err != nil {
			return errors.New(name + "_FILE: cannot be read")
		}
		*into = v
		return nil
	}
	if err := read("NOTIFY_SERVICENOW_PASSWORD", e.PasswordFile, &e.Password); err != nil {
		return err
	}
	if err := read("NOTIFY_SERVICENOW_TOKEN", e.TokenFile, &e.Token); err != nil {
		return err
	}
	if !e.Enabled() {
		if e.User != "" || e.Password != "" || e.Token != "" {
			return errors.New("NOTIFY_SERVICENOW_URL: required with the ServiceNow credentials")
		}
		return nil
	}
	basic := e.User != "" || e.Password != ""
	switch {
	case basic && e.Token != "":
		return errors.New("NOTIFY_SERVICENOW_TOKEN: set it or NOTIFY_SERVICENOW_USER and NOTIFY_SERVICENOW_PASSWORD, not both")
	case basic && e.User == "":
		return errors.New("NOTIFY_SERVICENOW_USER: required with NOTIFY_SERVICENOW_PASSWORD")
	case basic && e.Password == "":
		return errors.New("NOTIFY_SERVICENOW_PASSWORD: required with NOTIFY_SERVICENOW_USER")
	case !basic && e.Token == "":
		return errors.New("NOTIFY_SERVICENOW_USER: set NOTIFY_SERVICENOW_USER and NOTIFY_SERVICENOW_PASSWORD, or NOTIFY_SERVICENOW_TOKEN")
	}
	return nil
}
