package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/internal/backend"
	"github.com/leadq/leadq/internal/config"
)

// runReplay rebuilds the feature store from the Kafka log: it deletes every
// lead's feature state and moves the consumer group back to the earliest
// offset (or the first at or after --from). The consumers, started again,
// rebuild the store. Consumers of the group must be stopped first.
func runReplay(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) error {
	var from string
	var yes bool
	cfg, err := config.Parse("leadq replay", args, lookup, func(fs *flag.FlagSet) {
		fs.StringVar(&from, "from", "", "replay from this RFC 3339 time instead of the earliest offset")
		fs.BoolVar(&yes, "yes", false, "confirm: feature state is deleted and rebuilt by the consumers")
	})
	if err != nil {
		return err
	}
	var at time.Time
	if from != "" {
		if at, err = time.Parse(time.RFC3339, from); err != nil {
			return fmt.Errorf("--from %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", from)
		}
	}
	if cfg.Embedded() {
		return errors.New("replay needs LEADQ_REDIS_URL and LEADQ_KAFKA_BROKERS: the embedded servers keep no log to replay")
	}
	if !yes {
		return errors.New("replay deletes every lead's feature state under " + cfg.KeyPrefix + " and rebuilds it from topic " + cfg.Topic + "; stop the consumers of group " + cfg.GroupID + " and run again with --yes")
	}
	log := newLogger(stderr, cfg)
	b, err := backend.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer b.Close()
	// Reset first: if consumers are still running Kafka refuses, and nothing
	// has been deleted yet.
	offsets, err := features.ResetGroup(ctx, b.Brokers, cfg.Topic, cfg.GroupID, at)
	if err != nil {
		return err
	}
	n, err := features.NewStore(b.Redis, cfg.KeyPrefix, features.DefaultSpec()).Wipe(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "replay: deleted the feature state of %d leads; group %s now starts topic %s at offsets %v\n", n, cfg.GroupID, cfg.Topic, offsets)
	fmt.Fprintln(stdout, "replay: start the consumers (leadq serve --roles consumer) to rebuild")
	return nil
}
