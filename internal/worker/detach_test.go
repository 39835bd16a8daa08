package worker

import (
	"context"
	"testing"
	"time"
)

func TestDetachOutlivesParentByGrace(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.Background())
	ctx, cancel := detach(parent, 50*time.Millisecond)
	defer cancel()
	cancelParent()
	if ctx.Err() != nil {
		t.Fatal("detached context ended with its parent; want it to get the grace period")
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("detached context not cancelled after the grace period")
	}
}

func TestDetachCancelEndsAtOnce(t *testing.T) {
	ctx, cancel := detach(context.Background(), time.Hour)
	cancel()
	if ctx.Err() == nil {
		t.Fatal("cancel did not end the detached context")
	}
}
