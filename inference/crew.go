package inference

import (
	"runtime"
	"sync/atomic"
	"time"
)

// A crew runs the groups of a Batcher's decoding step side by side: group 0
// on the goroutine holding the turn, the others on helper goroutines that
// stay awake between steps.
//
// Why not parallelFor's fresh goroutines: a step starts a helper, and by the
// next step its thread has gone to sleep. Waking a sleeping thread on a
// virtual machine took about 100 µs on the project machine (measured from
// the go statement to the helper's first instruction), a fifth of a
// merit-tiny step of 16 sequences and a third of a stories260K one, during
// which the second core idled. A helper of the crew instead polls for the
// next step's work after finishing its group, and the goroutine holding the
// turn polls for the helpers to finish in the same way; steps follow each
// other within a few microseconds, so neither thread sleeps while the batch
// runs. A helper that sees no work in time exits, so an idle Batcher has no
// goroutine, and a step that finds no helper polling starts a new one.
//
// Polling pays only when every thread of the crew has a core of its own. On
// a machine short of cores it takes time from the very thread it waits for
// (measured: with another process busy on one of two cores, a crew that
// kept polling needed up to twice the CPU per token). So the crew polls only
// while the process has been getting the cores it asks for: every
// crewProbe steps it compares the process's CPU time with the wall time,
// and below n − 0.6 cores for a step of n groups it stops polling (its
// goroutines then sleep and wake as parallelFor's do) until a later probe
// finds the cores again. A poll that finds itself descheduled (the clock
// jumps between two tries) also gives up at once.
type crew struct {
	helpers []*crewHelper
	done    chan struct{} // a value per finished helper share
	noPoll  atomic.Bool   // the last probe found too few cores

	// The probe's window; the goroutine holding the turn owns these.
	steps int
	wall0 time.Time
	cpu0  time.Duration
}

// crewProbe is how many steps a probe of the cores spans (a few to tens of
// milliseconds).
const crewProbe = 16

// probe updates noPoll every crewProbe steps of n groups.
func (c *crew) probe(n int) {
	c.steps++
	if c.steps%crewProbe != 0 {
		return
	}
	now, cpu := time.Now(), processCPU()
	wall := now.Sub(c.wall0)
	if cpu > 0 && !c.wall0.IsZero() && wall < 100*crewProbe*time.Millisecond {
		cores := float64(cpu-c.cpu0) / float64(wall)
		c.noPoll.Store(cores < float64(n)-0.6)
	}
	c.wall0, c.cpu0 = now, cpu
}

// crewSpin is the longest a thread of the crew polls before it sleeps: more
// than the gap between two steps (a few microseconds) plus the imbalance of
// their groups, which on the project machine often exceeded 100 µs for
// merit-tiny (a cap of 100 µs left the helper asleep at most steps; 300 µs
// and 1 ms kept it awake at nearly all).
const crewSpin = time.Millisecond

// crewPreempted: a poll that took longer than this means the thread lost
// its core to another process meanwhile.
const crewPreempted = 50 * time.Microsecond

// poll waits until ready reports true, for up to crewSpin, only while the
// thread keeps its core and the last probe found the cores; it returns ready's last answer. It reads
// the clock every 32 tries. It does not yield to other goroutines: a
// polling goroutine that yielded could find its place taken by a request's
// goroutine that then runs the next step there, leaving the helper queued
// until the other core fetches it, asleep by then. The requests' goroutines
// queued behind a busy helper run when the other core's scheduler takes
// them or the runtime preempts the helper (every 10 ms at most); their
// tokens wait in their buffers meanwhile, and time to first token stayed at
// 6–12 ms (p99) with 16 streams.
func (c *crew) poll(ready func() bool) bool {
	if c.noPoll.Load() {
		return ready()
	}
	start := time.Now()
	last := start
	for i := 1; !ready(); i++ {
		if i%32 != 0 {
			continue
		}
		now := time.Now()
		if now.Sub(start) > crewSpin || now.Sub(last) > crewPreempted {
			return ready()
		}
		last = now
	}
	return true
}

// A helper's states: no goroutine, a goroutine polling for work, work posted
// for the polling goroutine, a goroutine running its work.
const (
	helperGone int32 = iota
	helperPolling
	helperPosted
	helperBusy
)

type crewHelper struct {
	state atomic.Int32
	// The posted work: written by the step before it makes the helper's
	// state helperPosted (or starts its goroutine), read by the helper after.
	f    func(int)
	k    int
	crew *crew // the helper's own, set once
}

// run calls f(0) … f(n-1) with f(k) for k ≥ 1 on the crew's helpers and
// f(0) on the caller's goroutine, and returns when all are done. A panic in
// a helper's f ends the program (as in any goroutine); a panic in f(0) waits
// for the helpers first.
func (c *crew) run(n int, f func(k int)) {
	if n <= 1 {
		if n == 1 {
			f(0)
		}
		return
	}
	c.probe(n)
	if c.done == nil || cap(c.done) < n-1 {
		c.done = make(chan struct{}, n-1)
	}
	for len(c.helpers) < n-1 {
		c.helpers = append(c.helpers, &crewHelper{crew: c})
	}
	for k := 1; k < n; k++ {
		h := c.helpers[k-1]
		h.f, h.k = f, k
		if !h.state.CompareAndSwap(helperPolling, helperPosted) {
			// No goroutine, or one that has just given up polling.
			for h.state.Load() != helperGone {
				runtime.Gosched()
			}
			h.state.Store(helperBusy)
			go h.loop()
		}
	}
	defer c.wait(n - 1)
	f(0)
}

// wait takes n values from done, polling for them before it blocks.
func (c *crew) wait(n int) {
	c.poll(func() bool { return len(c.done) >= n })
	for range n {
		<-c.done
	}
}

// loop runs the posted work, then polls for more.
func (h *crewHelper) loop() {
	for {
		f, k, c := h.f, h.k, h.crew
		h.f = nil // not to hold on to the step's closure meanwhile
		f(k)
		// Polling again before saying done, so that the next step finds it.
		h.state.Store(helperPolling)
		c.done <- struct{}{}
		c.poll(func() bool { return h.state.Load() != helperPolling })
		if h.state.CompareAndSwap(helperPolling, helperGone) {
			return
		}
		// Only run changes the state of a polling helper: it posted work.
		h.state.Store(helperBusy)
	}
}
