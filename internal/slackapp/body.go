package slackapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/change"
	"github.com/patchbay/patchbay/internal/schema"
)

// changeRequest is a change command turned into the upstream request.
type changeRequest struct {
	Operation ccloud.Operation
	Resource  change.Resource
	// Body is the compact JSON body, exactly as the HTTP intake would queue it.
	Body []byte
	// Environment is the peering's spec.environment.id ("" for integrations).
	Environment string
}

// peeringAliases are the short names accepted for peering fields; any other
// key is taken as a path under spec.
var peeringAliases = map[string]string{
	"environment":    "spec.environment.id",
	"environment.id": "spec.environment.id",
}

// bodyPath is the JSON path (dotted) of a typed key.
func bodyPath(verb Verb, key string) string {
	if verb != VerbPeering {
		return key
	}
	if p, ok := peeringAliases[key]; ok {
		return p
	}
	if strings.HasPrefix(key, "spec.") {
		return key
	}
	return "spec." + key
}

// typedKey is the inverse of bodyPath for messages: the name a user types.
func typedKey(verb Verb, path string) string {
	if verb != VerbPeering {
		return path
	}
	if path == "spec.environment.id" || path == "spec.environment" {
		return "environment"
	}
	if path == "spec" {
		return "environment"
	}
	return strings.TrimPrefix(path, "spec.")
}

// buildChange turns a peering or integration command into the request body
// and runs it through the same validation as the HTTP intake
// (internal/schema). A problem comes back as a *UsageError in words.
func buildChange(cmd Command) (changeRequest, error) {
	var op ccloud.Operation
	var validate func([]byte) error
	switch cmd.Verb {
	case VerbPeering:
		op, validate = ccloud.UpdatePeering, schema.ValidatePeeringUpdate
	case VerbIntegration:
		op, validate = ccloud.UpdateIntegration, schema.ValidateIntegrationUpdate
	default:
		return changeRequest{}, fmt.Errorf("slackapp: %s is not a change", cmd.Verb)
	}
	path, err := op.Path(cmd.ID)
	if err != nil {
		return changeRequest{}, usage(cmd.Verb, "%s is not a valid %s id", shorten(cmd.ID), cmd.Verb)
	}
	root := map[string]any{}
	for _, f := range cmd.Fields {
		if err := setPath(root, strings.Split(bodyPath(cmd.Verb, f.Key), "."), f.Value); err != nil {
			return changeRequest{}, usage(cmd.Verb, "%s: %s", f.Key, err.Error())
		}
	}
	body, err := json.Marshal(root)
	if err != nil {
		return changeRequest{}, fmt.Errorf("slackapp: encode body: %w", err)
	}
	if err := validate(body); err != nil {
		var se *schema.Error
		if !errors.As(err, &se) {
			return changeRequest{}, fmt.Errorf("slackapp: validate: %w", err)
		}
		return changeRequest{}, &UsageError{Problem: describeSchemaError(cmd.Verb, se), Verb: cmd.Verb}
	}
	req := changeRequest{Operation: op, Resource: change.Resource{Kind: op.Kind(), ID: cmd.ID, Path: path}, Body: body}
	if cmd.Verb == VerbPeering {
		spec, _ := root["spec"].(map[string]any)
		env, _ := spec["environment"].(map[string]any)
		req.Environment, _ = env["id"].(string)
	}
	return req, nil
}

// setPath sets root[a][b]... = value, refusing a key that is both a value
// and an object (target=x target.kind=Slack).
func setPath(root map[string]any, segs []string, value string) error {
	m := root
	for i, s := range segs {
		last := i == len(segs)-1
		cur, exists := m[s]
		switch {
		case last && exists:
			return errors.New("is given twice, or also has fields")
		case last:
			m[s] = value
		case !exists:
			next := map[string]any{}
			m[s] = next
			m = next
		default:
			next, ok := cur.(map[string]any)
			if !ok {
				return fmt.Errorf("%s is a value, it cannot also have fields", strings.Join(segs[:i+1], "."))
			}
			m = next
		}
	}
	return nil
}

// pointerInDetail is a quoted JSON pointer in a schema detail.
var pointerInDetail = regexp.MustCompile(`'(/[^']*)'`)

// describeSchemaError says in words what the validator found, naming the
// fields as typed ("display_name", "target.kind"), never as JSON pointers.
// The schema's details never contain values, so no secret is repeated.
func describeSchemaError(verb Verb, se *schema.Error) string {
	var lines []string
	for _, e := range se.Envelope.Errors {
		name := ""
		if e.Source != nil && e.Source.Pointer != "" {
			name = typedKey(verb, pointerToPath(e.Source.Pointer))
		}
		detail := pointerInDetail.ReplaceAllStringFunc(e.Detail, func(m string) string {
			return "`" + typedKey(verb, pointerToPath(strings.Trim(m, "'"))) + "`"
		})
		detail = strings.TrimPrefix(detail, "The property ")
		switch {
		case detail != "":
			lines = append(lines, detail)
		case name != "":
			lines = append(lines, "`"+name+"`: "+e.Title)
		default:
			lines = append(lines, e.Title)
		}
	}
	return strings.Join(lines, "\n")
}

// pointerToPath turns "/spec/environment/id" into "spec.environment.id".
func pointerToPath(p string) string {
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return strings.Join(segs, ".")
}

// peeringEnvironment returns spec.environment.id of a peering body.
func peeringEnvironment(body []byte) string {
	var b struct {
		Spec struct {
			Environment struct {
				ID string `json:"id"`
			} `json:"environment"`
		} `json:"spec"`
	}
	_ = json.Unmarshal(body, &b)
	return b.Spec.Environment.ID
}
