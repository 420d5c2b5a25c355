//go:build race

package dispatch_test

// raceEnabled: the race detector slows the pipeline several times, so
// wall-clock rate checks keep only their upper bounds.
const raceEnabled = true
