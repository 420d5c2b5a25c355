package herald

import "testing"

func TestNewIDOrderedWithinMillisecond(t *testing.T) {
	const ms = 1_795_000_000_000
	prev := NewID("msg", ms)
	for i := range 10_000 {
		id := NewID("msg", ms)
		if id <= prev {
			t.Fatalf("id %d %s not after %s", i, id, prev)
		}
		if id[:len("msg_")+10] != prev[:len("msg_")+10] {
			t.Fatalf("time part changed within one millisecond: %s after %s", id, prev)
		}
		prev = id
	}
	// An ID for an earlier time does not disturb the order of the latest.
	_ = NewID("evt", ms-5000)
	if id := NewID("msg", ms); id <= prev {
		t.Fatalf("after an earlier time's id: %s not after %s", id, prev)
	}
	if later := NewID("msg", ms+1); later <= prev {
		t.Fatalf("next millisecond's id %s not after %s", later, prev)
	}
}
