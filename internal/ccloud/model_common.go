package ccloud

import "time"

// ObjectMeta is the metadata every persisted resource has.
type ObjectMeta struct {
	// Self is the URL at which the object can be addressed.
	Self string `json:"self,omitempty"`
	// ResourceName is the object's Confluent Resource Name (CRN).
	ResourceName string `json:"resource_name,omitempty"`
	// CreatedAt is when the object was created.
	CreatedAt *time.Time `json:"created_at,omitempty"`
	// UpdatedAt is when the object was last updated.
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
	// DeletedAt is when the object was (or will be) deleted.
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
}

// ObjectReference locates a referred object.
type ObjectReference struct {
	// ID of the referred resource.
	ID string `json:"id,omitempty"`
	// Environment of the referred resource, if env-scoped.
	Environment string `json:"environment,omitempty"`
	// Related is the API URL for the referred object.
	Related string `json:"related,omitempty"`
	// ResourceName is the CRN of the referred object.
	ResourceName string `json:"resource_name,omitempty"`
	// APIVersion is the API group and version of the referred resource.
	APIVersion string `json:"api_version,omitempty"`
	// Kind of the referred resource.
	Kind string `json:"kind,omitempty"`
}

// EnvScopedRef is the writable part of an ObjectReference in a request.
type EnvScopedRef struct {
	// ID of the referred resource (required, 1..255 characters).
	ID string `json:"id"`
	// Environment of the referred resource, if env-scoped.
	Environment string `json:"environment,omitempty"`
}
