// Command baseline is the bare server bench/http/run.sh measures leadq
// against, in the same run, on the same machine and Redis:
//
//	POST /v1/score       decode the form body (same struct and decoder as leadq), answer a constant
//	POST /v1/leads       decode the form body, one EVALSHA that HSETs a few fields, answer a constant
//	POST /v1/queue/next  decode {"sdr_id"}, one EVALSHA that pops the best member of a sorted set
//	GET  /readyz         200 once the sorted set is filled
//
// With -fill N it first fills <prefix>bz with N members of random score, so
// the pop runs on a set as large as leadq's queue.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
)

// leadForm has the fields of api.LeadForm (copied so that the baseline does
// not move with leadq's code).
type leadForm struct {
	ExternalID  string `json:"external_id,omitempty"`
	Email       string `json:"email"`
	FirstName   string `json:"first_name,omitempty"`
	LastName    string `json:"last_name,omitempty"`
	Phone       string `json:"phone,omitempty"`
	Company     string `json:"company"`
	Title       string `json:"title,omitempty"`
	Industry    string `json:"industry,omitempty"`
	CompanySize string `json:"company_size,omitempty"`
	Country     string `json:"country,omitempty"`
	Region      string `json:"region,omitempty"`
	Timezone    string `json:"timezone,omitempty"`
	Language    string `json:"language,omitempty"`
	Source      string `json:"source,omitempty"`
	UTMSource   string `json:"utm_source,omitempty"`
	UTMMedium   string `json:"utm_medium,omitempty"`
	UTMCampaign string `json:"utm_campaign,omitempty"`
	Budget      string `json:"budget,omitempty"`
	Authority   string `json:"authority,omitempty"`
	Need        string `json:"need,omitempty"`
	Timeline    string `json:"timeline,omitempty"`
	Consent     *bool  `json:"consent,omitempty"`
}

type nextRequest struct {
	SDRID string   `json:"sdr_id"`
	Pools []string `json:"pools,omitempty"`
}

// decodeForm decodes a form body like leadq's api.decodeForm (goccy/go-json,
// unknown fields refused), so both sides pay the same decoder.
func decodeForm(body []byte, v any) error {
	dec := gojson.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	return err
}

// decodeStrict decodes like leadq's api.decodeStrict.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	return err
}

// One write: a few fields of the lead's hash.
var writeScript = redis.NewScript(`
redis.call('HSET', KEYS[1], 'email', ARGV[1], 'company', ARGV[2], 'source', ARGV[3], 'at', ARGV[4])
return 1`)

// One pop: the best member of the sorted set, like a queue head.
var popScript = redis.NewScript(`
local r = redis.call('ZPOPMAX', KEYS[1])
if #r == 0 then return false end
return r[1]`)

var (
	scoreAnswer = []byte(`{"probability":0.5,"tier":"B","model_version":"baseline","reasons":[]}`)
	leadAnswer  = []byte(`{"lead_id":"baseline","probability":0.5,"tier":"B","pool":"default","state":"queued"}`)
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	redisURL := flag.String("redis", os.Getenv("LEADQ_TEST_REDIS_URL"), "Redis URL")
	prefix := flag.String("prefix", "bqbase:", "prefix of every Redis key")
	fill := flag.Int("fill", 0, "members to put in the sorted set before serving")
	fillOnly := flag.Bool("fill-only", false, "fill the sorted set and exit")
	flag.Parse()

	opt, err := redis.ParseURL(*redisURL)
	if err != nil {
		log.Fatalf("redis url: %v", err)
	}
	// The same client settings as leadq's backend.Open.
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = 2*time.Second, 2*time.Second, 2*time.Second
	rdb := redis.NewClient(opt)
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		log.Fatalf("redis: %v", err)
	}
	if err := writeScript.Load(ctx, rdb).Err(); err != nil {
		log.Fatalf("load script: %v", err)
	}
	if err := popScript.Load(ctx, rdb).Err(); err != nil {
		log.Fatalf("load script: %v", err)
	}
	zkey := *prefix + "bz"
	if *fillOnly {
		start := time.Now()
		if err := fillSet(ctx, rdb, zkey, *fill); err != nil {
			log.Fatalf("fill: %v", err)
		}
		fmt.Printf("baseline: %s holds %d members (filled in %.1fs)\n", zkey, rdb.ZCard(ctx, zkey).Val(), time.Since(start).Seconds())
		return
	}
	var ready atomic.Bool

	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/readyz", func(c *fiber.Ctx) error {
		if !ready.Load() {
			return c.SendStatus(fiber.StatusServiceUnavailable)
		}
		return c.SendString("ok")
	})
	app.Post("/v1/score", func(c *fiber.Ctx) error {
		var f leadForm
		if err := decodeForm(c.Body(), &f); err != nil {
			return c.Status(fiber.StatusBadRequest).SendString(err.Error())
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(scoreAnswer)
	})
	app.Post("/v1/leads", func(c *fiber.Ctx) error {
		var f leadForm
		if err := decodeForm(c.Body(), &f); err != nil {
			return c.Status(fiber.StatusBadRequest).SendString(err.Error())
		}
		err := writeScript.Run(c.UserContext(), rdb, []string{*prefix + "l:" + f.Email},
			f.Email, f.Company, f.Source, strconv.FormatInt(time.Now().UnixMilli(), 10)).Err()
		if err != nil {
			return c.Status(fiber.StatusServiceUnavailable).SendString(err.Error())
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Status(fiber.StatusCreated).Send(leadAnswer)
	})
	app.Post("/v1/queue/next", func(c *fiber.Ctx) error {
		var req nextRequest
		if err := decodeStrict(c.Body(), &req); err != nil || req.SDRID == "" {
			return c.Status(fiber.StatusBadRequest).SendString("bad body")
		}
		id, err := popScript.Run(c.UserContext(), rdb, []string{zkey}).Text()
		switch {
		case errors.Is(err, redis.Nil):
			// An empty set means the run outgrew the fill: answer an error
			// wrk counts (it counts only statuses ≥ 400), not a cheap 204 that
			// would pass for a pull.
			return c.Status(fiber.StatusServiceUnavailable).SendString("baseline set empty")
		case err != nil:
			return c.Status(fiber.StatusServiceUnavailable).SendString(err.Error())
		}
		// The same shape leadq's claim id has: <pool>.<random>.<lead id>.
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.SendString(`{"claim_id":"ZGVmYXVsdA.base.` + id + `","lead":{"lead_id":"` + id + `"}}`)
	})

	go func() {
		if *fill > 0 {
			start := time.Now()
			if err := fillSet(ctx, rdb, zkey, *fill); err != nil {
				log.Fatalf("fill: %v", err)
			}
			log.Printf("baseline: %s holds %d members (filled in %.1fs)", zkey, rdb.ZCard(ctx, zkey).Val(), time.Since(start).Seconds())
		}
		ready.Store(true)
	}()
	if err := app.Listen(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

// fillSet adds n members b<i> with random scores, 2,000 per ZADD, pipelined.
func fillSet(ctx context.Context, rdb *redis.Client, key string, n int) error {
	if err := rdb.Unlink(ctx, key).Err(); err != nil {
		return err
	}
	const per, pipe = 2000, 20
	zs := make([]redis.Z, 0, per)
	p := rdb.Pipeline()
	for i := 0; i < n; {
		zs = zs[:0]
		for ; len(zs) < per && i < n; i++ {
			zs = append(zs, redis.Z{Score: rand.Float64(), Member: "b" + strconv.Itoa(i)})
		}
		p.ZAdd(ctx, key, zs...)
		if p.Len() == pipe || i == n {
			if _, err := p.Exec(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}
