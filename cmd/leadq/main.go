// Command leadq is the lead prioritization service: `leadq serve` runs the
// API, the Kafka consumer and the trainer; other subcommands serve data teams.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/leadq/leadq/internal/config"
)

// version is set at build time with -ldflags=-X=main.version=...
var version = "dev"

const usage = `leadq — real-time lead prioritization

Usage:
  leadq serve [flags]       run the API, the Kafka consumer and the trainer (--roles picks a subset)
  leadq replay --yes        rebuild the feature store from the Kafka log (stop the consumers first)
  leadq train [flags]       train and evaluate a model on a CSV of historical leads
  leadq version             print the version

Run "leadq serve --help" or "leadq train --help" for the flags of each.
Every serve flag is also an environment variable: --redis-url is LEADQ_REDIS_URL.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var help config.ErrHelp
	switch {
	case errors.As(err, &help):
		fmt.Fprint(os.Stdout, help.Usage)
	case err != nil:
		fmt.Fprintln(os.Stderr, "leadq:", err)
		os.Exit(1)
	}
}

// run dispatches a subcommand; it returns when the command is done or ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return nil
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], os.LookupEnv, stdout, stderr)
	case "replay":
		return runReplay(ctx, args[1:], os.LookupEnv, stdout, stderr)
	case "train":
		return runTrain(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "leadq", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return fmt.Errorf("unknown command %q\n\n%s", args[0], usage)
	}
}
