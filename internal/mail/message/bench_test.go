package message

import "testing"

// BenchmarkParse parses the whole corpus per iteration; the MB/s figure is raw input.
func BenchmarkParse(b *testing.B) {
	c := corpus(b)
	var total int64
	for _, raw := range c {
		total += int64(len(raw))
	}
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		for _, raw := range c {
			Parse(raw)
		}
	}
}

func BenchmarkCompose(b *testing.B) {
	d := testDraft()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Compose(d); err != nil {
			b.Fatal(err)
		}
	}
}
