package benchrun

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Result counts the operations of a load run.
type Result struct {
	// Done is the number of operations that returned nil.
	Done int
	// Errors is the number that returned an error; FirstErr is the first.
	Errors   int
	FirstErr error
	// Elapsed is the wall time of the run.
	Elapsed time.Duration
	// CPU is the CPU time each process of interest used during the run
	// (only when the target measures it).
	CPU map[string]time.Duration
}

// CPUPerOp is the CPU time of process name per successful operation.
func (r Result) CPUPerOp(name string) time.Duration {
	if r.Done == 0 {
		return 0
	}
	return r.CPU[name] / time.Duration(r.Done)
}

// TotalCPUPerOp is the CPU time of every measured process per successful operation.
func (r Result) TotalCPUPerOp() time.Duration {
	if r.Done == 0 {
		return 0
	}
	var sum time.Duration
	for k, v := range r.CPU {
		if k != Machine {
			sum += v
		}
	}
	return sum / time.Duration(r.Done)
}

// Rate is successful operations per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Done) / r.Elapsed.Seconds()
}

type tally struct {
	done, errs atomic.Int64
	mu         sync.Mutex
	first      error
}

func (t *tally) record(err error) {
	if err == nil {
		t.done.Add(1)
		return
	}
	t.errs.Add(1)
	t.mu.Lock()
	if t.first == nil {
		t.first = err
	}
	t.mu.Unlock()
}

func (t *tally) result(elapsed time.Duration) Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Result{Done: int(t.done.Load()), Errors: int(t.errs.Load()), FirstErr: t.first, Elapsed: elapsed}
}

// ClosedLoop runs n operations with a fixed number of concurrent clients,
// each starting its next operation as soon as the previous one returned.
// Operations are numbered 0..n-1. It stops early when ctx ends.
func ClosedLoop(ctx context.Context, clients, n int, fn func(ctx context.Context, i int) error) Result {
	var next atomic.Int64
	var t tally
	var wg sync.WaitGroup
	start := time.Now()
	for range max(clients, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t.record(fn(ctx, i))
			}
		}()
	}
	wg.Wait()
	return t.result(time.Since(start))
}

// OpenLoop starts n operations at a fixed rate per second, whatever the
// latency of earlier ones (open-loop pacing), with at most maxInFlight
// running at once. Operation i is scheduled at start + i/rate; fn gets that
// time so that latency can be measured from it, which counts any queueing
// behind a slow system (no coordinated omission). It returns when every
// operation returned, or soon after ctx ends.
func OpenLoop(ctx context.Context, rate float64, n, maxInFlight int, fn func(ctx context.Context, i int, scheduled time.Time) error) Result {
	interval := time.Duration(float64(time.Second) / rate)
	sem := make(chan struct{}, max(maxInFlight, 1))
	var t tally
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			sleep(ctx, d)
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t.record(fn(ctx, i, at))
		}()
	}
	wg.Wait()
	return t.result(time.Since(start))
}

func sleep(ctx context.Context, d time.Duration) {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-ctx.Done():
	}
}
