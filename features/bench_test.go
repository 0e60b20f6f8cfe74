package features

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/leadq/leadq/internal/testenv"
)

var benchBodies = []struct{ name, body string }{
	{"page_viewed", `{"event_id":"7f9c2ba4-e88f-11ee-a951-0242ac120002","lead_id":"00Q5e00001AbCdEf","type":"page_viewed","ts":"2026-03-01T11:59:00.123Z","props":{"path":"/pricing","session_id":"s-93f1c2","referrer":"https://www.google.com/","user_agent":"Mozilla/5.0"}}`},
	{"lead_created", `{"event_id":"7f9c2ba4-e88f-11ee-a951-0242ac120003","lead_id":"00Q5e00001AbCdEf","type":"lead_created","ts":"2026-03-01T11:59:00Z","props":{"company":"Acme Corp","industry":"Software","company_size":"51-200","country":"US","region":"NA","title":"VP of Sales","language":"en-US","timezone":"America/New_York","source":"website","utm_source":"google","utm_medium":"cpc","utm_campaign":"q1-brand","budget":"approved","authority":"decision_maker","need":"high","timeline":"now","consent":true}}`},
}

func BenchmarkDecode(b *testing.B) {
	for _, bb := range benchBodies {
		b.Run(bb.name, func(b *testing.B) {
			body := []byte(bb.body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(body, testNow, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	s := DefaultSpec()
	for _, bb := range benchBodies {
		b.Run(bb.name, func(b *testing.B) {
			e, err := Decode([]byte(bb.body), testNow, Limits{})
			if err != nil {
				b.Fatal(err)
			}
			ops := make([]Op, 0, 64)
			b.ReportAllocs()
			for b.Loop() {
				ops = s.Compile(e, ops[:0])
			}
		})
	}
}

func BenchmarkExtract(b *testing.B) {
	s := DefaultSpec()
	st := foldEvents(s, genEvents(newRand(1), "L", 200))
	num, cat := make([]float64, len(s.NumNames())), make([]string, len(s.CatNames()))
	b.ReportAllocs()
	for b.Loop() {
		s.Extract(st, testNow, num, cat)
	}
}

// BenchmarkStoreApply measures events/s into real Redis: each iteration
// applies one batch of fresh offsets (nothing is skipped) spread over 50k
// leads. mix=uniform draws every type equally often (a sixth of the events
// carry firmographics: the heavy case); mix=web is a tracking-dominated stream.
func BenchmarkStoreApply(b *testing.B) {
	mixes := []struct {
		name string
		gen  func(*rand.Rand, string, int) Event
	}{{"uniform", genEvent}, {"web", genWebEvent}}
	for _, mix := range mixes {
		for _, size := range []int{500, 2000} {
			b.Run("mix="+mix.name+"/batch="+strconv.Itoa(size), func(b *testing.B) {
				benchStoreApply(b, mix.gen, size)
			})
		}
	}
}

func benchStoreApply(b *testing.B, gen func(*rand.Rand, string, int) Event, size int) {
	rdb, prefix := testenv.Redis(b)
	st := NewStore(rdb, prefix, DefaultSpec())
	r := newRand(3)
	pool := make([]Applied, 100_000)
	for i := range pool {
		lead := "lead-" + strconv.Itoa(r.IntN(50_000))
		pool[i] = Applied{Event: gen(r, lead, i), Partition: int(hash64(hashSeed, lead) % 8)}
	}
	var offset int64
	next, events := 0, 0
	var changed []Change
	if err := st.Load(b.Context()); err != nil {
		b.Fatal(err)
	}
	before, err := redisCost(b.Context(), rdb)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if next+size > len(pool) {
			next = 0
		}
		batch := pool[next : next+size]
		next += size
		for i := range batch {
			batch[i].Offset = offset // one sequence for all partitions: still increasing in each
			offset++
		}
		var err error
		if changed, err = st.ApplyChanges(b.Context(), batch, changed[:0]); err != nil {
			b.Fatal(err)
		}
		events += size
	}
	reportRedisCost(b, rdb, before, events)
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
}
