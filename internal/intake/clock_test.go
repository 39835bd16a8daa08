package intake_test

import (
	"time"

	"github.com/patchbay/patchbay/internal/clocktest"
)

// fakeClock is the shared settable test clock, for the intake's Deps.Now.
type fakeClock = clocktest.Clock

func newFakeClock() *fakeClock { return clocktest.New(time.Unix(1_700_000_000, 0)) }
