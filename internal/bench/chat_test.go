package bench

import (
	"testing"
	"time"
)

func TestPercentiles(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want ChatLatency
	}{
		{"none", nil, ChatLatency{}},
		{"one", []float64{7}, ChatLatency{P50: 7, P99: 7, Max: 7}},
		{"hundred", func() []float64 {
			var v []float64
			for i := 100; i >= 1; i-- {
				v = append(v, float64(i))
			}
			return v
		}(), ChatLatency{P50: 51, P99: 100, Max: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentiles(tt.in); got != tt.want {
				t.Errorf("percentiles = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// The recorder's figures: per-second latencies keep a slow first second
// apart from the rest, a message heard twice by one operator counts as
// duplicated.
func TestChatRecorderBySecond(t *testing.T) {
	r := newChatRecorder()
	t0 := time.Unix(1_000_000, 0)
	sent := []time.Time{t0, t0.Add(500 * time.Millisecond), t0.Add(1500 * time.Millisecond)}
	r.add("a", "op1", t0.Add(900*time.Millisecond))
	r.add("b", "op1", sent[1].Add(300*time.Millisecond))
	r.add("c", "op1", sent[2].Add(10*time.Millisecond))
	r.add("c", "op1", sent[2].Add(20*time.Millisecond))
	run := &ChatRun{}
	r.score(run, sent, map[string]int{"a": 0, "b": 1, "c": 2}, map[int]int{0: 1, 1: 1, 2: 1})
	if run.Duplicated != 1 || run.Lost != 0 || run.Stored != 3 || run.Deliveries != 3 {
		t.Fatalf("run = %+v", run)
	}
	if len(run.BySecond) != 2 || run.BySecond[0].Latency.Max != 900 || run.BySecond[1].Latency.Max != 10 {
		t.Fatalf("by second = %+v", run.BySecond)
	}
}
