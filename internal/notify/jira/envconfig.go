package jira

import (
	"errors"
	"os"

	"github.com/patchbay/patchbay/internal/notify/route"
)

// EnvConfig is the Jira destination's environment configuration; the
// destination is enabled when NOTIFY_JIRA_URL is set.
type EnvConfig struct {
	URL          string `env:"NOTIFY_JIRA_URL"`
	Email        string `env:"NOTIFY_JIRA_EMAIL"`
	APIToken     string `env:"NOTIFY_JIRA_API_TOKEN" json:"-"`
	APITokenFile string `env:"NOTIFY_JIRA_API_TOKEN_FILE"`
}

// Enabled reports whether Jira is configured.
func (e EnvConfig) Enabled() bool { return e.URL != "" }

// Validate checks the variables and reads the token file; the error names
// the variable, never the token.
func (e *EnvConfig) Validate() error {
	if !e.Enabled() {
		if e.Email != "" || e.APIToken != "" || e.APITokenFile != "" {
			return errors.New("NOTIFY_JIRA_URL: required with NOTIFY_JIRA_EMAIL and NOTIFY_JIRA_API_TOKEN")
		}
		return nil
	}
	if e.Email == "" {
		return errors.New("NOTIFY_JIRA_EMAIL: required with NOTIFY_JIRA_URL (the account of the API token)")
	}
	switch {
	case e.APIToken != "" && e.APITokenFile != "":
		return errors.New("NOTIFY_JIRA_API_TOKEN_FILE: set it or NOTIFY_JIRA_API_TOKEN, not both")
	case e.APITokenFile != "":
		tok, err := route.SecretRef{File: e.APITokenFile}.Resolve(".", os.LookupEnv)
		if err != nil {
			return errors.New("NOTIFY_JIRA_API_TOKEN_FILE: cannot be read")
		}
		e.APIToken = tok
	case e.APIToken == "":
		return errors.New("NOTIFY_JIRA_API_TOKEN: required with NOTIFY_JIRA_URL (or NOTIFY_JIRA_API_TOKEN_FILE)")
	}
	return nil
}
