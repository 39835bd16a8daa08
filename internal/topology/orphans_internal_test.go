package topology

import "testing"

func TestOrphanOf(t *testing.T) {
	for _, tc := range []struct {
		msgs, first, floor, want uint64
	}{
		{0, 0, 10, 0},   // empty stream
		{3, 11, 10, 0},  // everything stored is above the floor: normal
		{3, 10, 10, 10}, // the first stored change is counted as acknowledged
		{1, 4, 10, 4},
	} {
		if got := orphanOf(tc.msgs, tc.first, tc.floor); got != tc.want {
			t.Errorf("orphanOf(%d, %d, %d) = %d, want %d", tc.msgs, tc.first, tc.floor, got, tc.want)
		}
	}
}
