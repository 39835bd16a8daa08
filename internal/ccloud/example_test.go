package ccloud_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/patchbay/patchbay/internal/ccloud"
	"github.com/patchbay/patchbay/internal/ccloudsim"
)

// Example updates a peering on the Confluent Cloud simulator and tells a
// permanent refusal from one worth retrying, as a worker does.
func Example() {
	sim, err := ccloudsim.New(ccloudsim.Options{Credentials: map[string]string{"KEY": "SECRET"}})
	if err != nil {
		panic(err)
	}
	sim.SeedDemo()
	srv := httptest.NewServer(sim)
	defer srv.Close()

	c, err := ccloud.New(ccloud.Config{BaseURL: srv.URL, APIKey: "KEY", APISecret: "SECRET"})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	resp, err := c.Do(ctx, ccloud.UpdatePeering, "p-demo1",
		[]byte(`{"spec":{"display_name":"prod-east","environment":{"id":"env-demo"}}}`))
	fmt.Println(resp.Status, err)

	// An immutable field is refused: a *PermanentError, never retried.
	_, err = c.Do(ctx, ccloud.UpdatePeering, "p-demo1",
		[]byte(`{"spec":{"environment":{"id":"env-demo"},"cloud":{"kind":"GcpPeering"}}}`))
	var perm *ccloud.PermanentError
	fmt.Println(errors.As(err, &perm), perm.Status)

	// A path id can never reach another upstream path.
	_, err = c.Do(ctx, ccloud.UpdatePeering, "../integrations/i-1", []byte(`{}`))
	fmt.Println(errors.Is(err, ccloud.ErrInvalidID))
	// Output:
	// 200 <nil>
	// true 422
	// true
}
