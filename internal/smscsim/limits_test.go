package smscsim

import (
	"testing"
	"time"
)

func TestMaxRate(t *testing.T) {
	t.Parallel()
	var c rateCap
	c.set(100)
	now := time.Unix(0, 0)
	ok := 0
	for i := range 2000 { // 2000 submits over 2 s, at 1000/s
		if c.allow(now.Add(time.Duration(i) * time.Millisecond)) {
			ok++
		}
	}
	// 200 in 2 s plus the initial tenth of a second's burst.
	if ok < 200 || ok > 211 {
		t.Fatalf("%d allowed in 2 s at a cap of 100/s", ok)
	}
	c.set(0)
	if !c.allow(now) || c.on.Load() {
		t.Fatal("cap 0 still refuses")
	}
}
