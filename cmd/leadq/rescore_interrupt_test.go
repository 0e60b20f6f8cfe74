package main

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/queue"
	"github.com/leadq/leadq/internal/rank"
	"github.com/leadq/leadq/internal/route"
	"github.com/leadq/leadq/internal/testenv"
	"github.com/leadq/leadq/model"
)

// cancelAfterRescoreKey cancels the serve context right after this replica
// took a version's rescore key: a SIGTERM arriving while it rescores.
type cancelAfterRescoreKey struct {
	cancel func()
	armed  atomic.Bool
}

func (h *cancelAfterRescoreKey) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *cancelAfterRescoreKey) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *cancelAfterRescoreKey) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if cmd.Name() == "set" && len(cmd.Args()) > 1 && strings.Contains(cmd.Args()[1].(string), "rescore:") && h.armed.CompareAndSwap(true, false) {
			h.cancel()
		}
		return err
	}
}

// TestRescoreInterruptedBySIGTERMIsRedone: a replica stopped while it
// rescores after a model swap gives the rescore key back, so its successor,
// which swaps the same model in at start, rescores.
func TestRescoreInterruptedBySIGTERMIsRedone(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	spec := features.DefaultSpec()
	store := features.NewStore(rdb, prefix, spec)
	qcfg := queue.DefaultConfig()
	qcfg.Prefix = prefix
	q, err := queue.New(rdb, qcfg)
	if err != nil {
		t.Fatal(err)
	}
	router, _ := route.Parse("", "default")
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	ranker := rank.New(rdb, store, model.NewLive(spec), q, router, log)

	// The first replica takes the key and is stopped while it rescores.
	ctx, cancel := context.WithCancel(t.Context())
	h := &cancelAfterRescoreKey{cancel: cancel}
	h.armed.Store(true)
	rdb.AddHook(h)
	swapped := make(chan string, 1)
	swapped <- "v1"
	done := make(chan error, 1)
	go func() { done <- rescoreOnSwap(ctx, rdb, prefix, ranker, swapped, log) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("rescoreOnSwap did not stop")
	}

	// Its successor swaps the same champion in at start.
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer cancel2()
	swapped2 := make(chan string, 1)
	swapped2 <- "v1"
	go func() { _ = rescoreOnSwap(ctx2, rdb, prefix, ranker, swapped2, log) }()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "rescored leads after a model change") {
		if time.Now().After(deadline) {
			last, _ := rdb.Get(t.Context(), prefix+"rescore:last").Result()
			t.Fatalf("nobody rescored for model v1 after the interrupted rescore (rescore:last holds %q)\nlog:\n%s", last, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
