package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/leadq/leadq/features"
	"github.com/leadq/leadq/model"
	"github.com/leadq/leadq/training"
)

// notYetRegistered lists operations of openapi.yaml whose handlers are being
// built. Remove each one as its route is registered: TestSpecMatchesRoutes
// fails for an entry that is registered, so the list cannot go stale.
var notYetRegistered = map[string]bool{}

func TestSpecLoads(t *testing.T) {
	t.Parallel()
	doc, js, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi %q, want 3.0.3", doc.OpenAPI)
	}
	// The JSON rendering must load back to the same operations.
	back, err := openapi3.NewLoader().LoadFromData(js)
	if err != nil {
		t.Fatalf("openapi.json does not load: %v", err)
	}
	if got, want := specOperations(back), specOperations(doc); !slices.Equal(got, want) {
		t.Errorf("openapi.json has %v, openapi.yaml %v", got, want)
	}
	for _, op := range specOperations(doc) {
		method, path, _ := strings.Cut(op, " ")
		o := doc.Paths.Value(path).GetOperation(method)
		if o.Summary == "" || o.OperationID == "" {
			t.Errorf("%s: needs a summary and an operationId", op)
		}
		public := o.Security != nil && len(*o.Security) == 0
		scope, _ := o.Extensions["x-scope"].(string)
		if public == (scope != "") {
			t.Errorf("%s: an operation is either public (security: []) or has an x-scope, not %q", op, scope)
		}
		for code, r := range o.Responses.Map() {
			if code[0] != '4' && code[0] != '5' {
				continue
			}
			if r.Value.Content.Get("application/problem+json") == nil || len(r.Value.Content) != 1 {
				t.Errorf("%s %s: error responses are application/problem+json only", op, code)
			}
		}
		if scope != "" {
			for _, code := range []string{"401", "403", "429"} {
				if o.Responses.Value(code) == nil {
					t.Errorf("%s: an authenticated route documents %s", op, code)
				}
			}
		}
		if o.RequestBody != nil {
			s := o.RequestBody.Value.Content.Get("application/json").Schema.Value
			if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
				t.Errorf("%s: the request body must say additionalProperties: false (handlers refuse unknown fields)", op)
			}
		}
	}
}

// specOperations returns "METHOD /path" of every operation, sorted.
func specOperations(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

func TestSpecMatchesRoutes(t *testing.T) {
	t.Parallel()
	doc, _, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, op := range specOperations(doc) {
		documented[op] = true
	}
	registered := map[string]bool{}
	for _, r := range specServer(t, specDeps{}).App().GetRoutes(true) {
		if r.Method == http.MethodHead { // Fiber adds HEAD to every GET
			continue
		}
		if strings.ContainsAny(r.Path, "*+?") {
			t.Errorf("%s %s: wildcard or optional routes cannot be checked against the spec", r.Method, r.Path)
			continue
		}
		registered[r.Method+" "+fiberParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	for op := range registered {
		if !documented[op] {
			t.Errorf("%s is registered but not in openapi.yaml", op)
		}
	}
	for op := range documented {
		if !registered[op] && !notYetRegistered[op] {
			t.Errorf("%s is in openapi.yaml but not registered (nor in notYetRegistered)", op)
		}
	}
	for op := range notYetRegistered {
		switch {
		case registered[op]:
			t.Errorf("%s is registered now: remove it from notYetRegistered", op)
		case !documented[op]:
			t.Errorf("%s in notYetRegistered is not in openapi.yaml", op)
		}
	}
}

// specDeps are the fakes a spec test server runs on; the zero value is healthy.
type specDeps struct {
	featuresErr, kafkaErr, registryErr, rollbackErr, retrainErr, readyErr error
}

// specModels is an in-memory model registry.
type specModels struct {
	entries     []model.Entry
	err, rbkErr error
}

func (m *specModels) Versions(context.Context) ([]model.Entry, error) { return m.entries, m.err }
func (m *specModels) Rollback(context.Context) (string, error) {
	if m.rbkErr != nil {
		return "", m.rbkErr
	}
	return "m1", nil
}

func testCard(version string) *model.Card {
	return &model.Card{Version: version, Kind: "logreg", SpecVersion: "v1", CreatedAt: time.Unix(1700000000, 0).UTC(),
		Schema: model.Schema{Num: []string{"age_minutes"}, Cat: []string{"source_first"}},
		Rows:   model.Rows{Total: 100, Train: 60, TrainPositives: 6, Test: 20, TestPositives: 2},
		Params: model.Params{Solver: "liblinear L2R_LR", C: 1, Calibration: "platt", Inputs: 4},
		Metrics: model.Metrics{N: 20, Positives: 2, AUC: 0.8, LogLoss: 0.3, Brier: 0.08,
			Table: []model.CalBin{{Lo: 0, Hi: 0.1, N: 18, MeanProb: 0.05, Observed: 0.05}}}}
}

// specServer builds a Server on in-memory fakes with every route of New plus
// the docs routes, whether or not New registers them yet.
func specServer(t *testing.T, d specDeps) *Server {
	t.Helper()
	mem := newMem(t)
	mem.err = d.featuresErr
	ready := func(context.Context) error { return d.readyErr }
	s := New(Config{
		BodyLimit: 1 << 16, Registry: prometheus.NewRegistry(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		APIKeys: testKeys, Features: mem, Events: &memWriter{err: d.kafkaErr}, MaxEventBatch: 3,
		Live: model.NewLive(features.DefaultSpec()),
		Models: &specModels{err: d.registryErr, rbkErr: d.rollbackErr, entries: []model.Entry{
			{Version: "m2", CreatedAt: time.Unix(1700000100, 0).UTC(), Champion: true, Card: testCard("m2")},
			{Version: "m1", CreatedAt: time.Unix(1700000000, 0).UTC()},
		}},
		Retrain: func(context.Context) (*training.Result, error) {
			if d.retrainErr != nil {
				return nil, d.retrainErr
			}
			return &training.Result{Trained: true, Promoted: true, Version: "m3", Champion: "m2", ChampionAUC: 0.7, Card: testCard("m3")}, nil
		},
		Checks: []Checker{{Name: "redis", Check: ready}},
	})
	for _, r := range s.App().GetRoutes(true) {
		if r.Path == "/openapi.json" {
			return s
		}
	}
	s.registerDocs(mustSpecJSON())
	return s
}

// specRouter finds the spec operation of a request.
func specRouter(t *testing.T) routers.Router {
	t.Helper()
	doc, _, err := loadSpec()
	if err != nil {
		t.Fatal(err)
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// validateResponse checks resp (the answer to req) against the operation of
// openapi.yaml that req matches: a documented status, its content type,
// its headers and its body schema. It returns the body.
func validateResponse(t *testing.T, router routers.Router, req *http.Request, resp *http.Response) []byte {
	t.Helper()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s: no operation in openapi.yaml: %v", req.Method, req.URL, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(t.Context(), in); err != nil {
		t.Errorf("%s %s → %d %s does not match openapi.yaml: %v\nbody: %s",
			req.Method, req.URL, resp.StatusCode, resp.Header.Get("Content-Type"), err, body)
	}
	return body
}

func TestResponsesMatchSpec(t *testing.T) {
	t.Parallel()
	router := specRouter(t)
	ok := event("L1", "page_viewed")
	down := errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	for _, tc := range []struct {
		name, method, path, key, body string
		deps                          specDeps
		status                        int
		contains                      string // a substring the body must hold
	}{
		{"score", "POST", "/v1/score", "form-secret", goodForm, specDeps{}, 200, `"model_version":"prior"`},
		{"score by admin", "POST", "/v1/score", "admin-secret", goodForm, specDeps{}, 200, ""},
		{"score invalid", "POST", "/v1/score", "form-secret", `{"email":"x","company":""}`, specDeps{}, 400, `"field":"email"`},
		{"score unknown field", "POST", "/v1/score", "form-secret", `{"email":"a@b.io","company":"A","x":1}`, specDeps{}, 400, `"field":"x"`},
		{"score malformed", "POST", "/v1/score", "form-secret", `{`, specDeps{}, 400, `"field":"body"`},
		{"score without key", "POST", "/v1/score", "", goodForm, specDeps{}, 401, ""},
		{"score unknown key", "POST", "/v1/score", "nope", goodForm, specDeps{}, 401, ""},
		{"score by dialer", "POST", "/v1/score", "dialer-secret", goodForm, specDeps{}, 403, ""},
		{"events", "POST", "/v1/events", "ingest-secret", `{"events":[` + ok + `,` + event("L2", "nonsense") + `]}`, specDeps{}, 202, `"index":1`},
		{"events all good", "POST", "/v1/events", "ingest-secret", `{"events":[` + ok + `]}`, specDeps{}, 202, `"errors":[]`},
		{"events empty", "POST", "/v1/events", "ingest-secret", `{"events":[]}`, specDeps{}, 400, ""},
		{"events too many", "POST", "/v1/events", "ingest-secret", `{"events":[` + strings.Repeat(ok+",", 3) + ok + `]}`, specDeps{}, 413, ""},
		{"events kafka down", "POST", "/v1/events", "ingest-secret", `{"events":[` + ok + `]}`, specDeps{kafkaErr: down}, 503, `"field":"kafka"`},
		{"events by form", "POST", "/v1/events", "form-secret", `{"events":[` + ok + `]}`, specDeps{}, 403, ""},
		{"lead", "GET", "/v1/leads/L1", "dialer-secret", "", specDeps{}, 200, `"lead_id":"L1"`},
		{"lead unknown", "GET", "/v1/leads/nobody", "dialer-secret", "", specDeps{}, 404, ""},
		{"lead bad id", "GET", "/v1/leads/a%7Bb", "dialer-secret", "", specDeps{}, 400, `"field":"id"`},
		{"lead redis down", "GET", "/v1/leads/L1", "dialer-secret", "", specDeps{featuresErr: down}, 503, ""},
		{"lead by ingest", "GET", "/v1/leads/L1", "ingest-secret", "", specDeps{}, 403, ""},
		{"model", "GET", "/v1/model", "admin-secret", "", specDeps{}, 200, `"card":null`},
		{"model by dialer", "GET", "/v1/model", "dialer-secret", "", specDeps{}, 403, ""},
		{"model versions", "GET", "/v1/model/versions", "admin-secret", "", specDeps{}, 200, `"serving":"prior"`},
		{"model versions redis down", "GET", "/v1/model/versions", "admin-secret", "", specDeps{registryErr: down}, 503, ""},
		{"retrain", "POST", "/v1/model/retrain", "admin-secret", "", specDeps{}, 200, `"promoted":true`},
		{"retrain busy", "POST", "/v1/model/retrain", "admin-secret", "", specDeps{retrainErr: training.ErrBusy}, 409, ""},
		{"rollback", "POST", "/v1/model/rollback", "admin-secret", "", specDeps{}, 200, `"champion":"m1"`},
		{"rollback nothing", "POST", "/v1/model/rollback", "admin-secret", "", specDeps{rollbackErr: model.ErrNoChampion}, 409, ""},
		{"rollback by form", "POST", "/v1/model/rollback", "form-secret", "", specDeps{}, 403, ""},
		{"healthz", "GET", "/healthz", "", "", specDeps{}, 200, ""},
		{"readyz", "GET", "/readyz", "", "", specDeps{}, 200, ""},
		{"readyz down", "GET", "/readyz", "", "", specDeps{readyErr: down}, 503, `"field":"redis"`},
		{"metrics", "GET", "/metrics", "", "", specDeps{}, 200, "leadq_http_request_duration_seconds"},
		{"openapi.json", "GET", "/openapi.json", "", "", specDeps{}, 200, `"openapi":"3.0.3"`},
		{"docs", "GET", "/docs", "", "", specDeps{}, 200, "/openapi.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := specServer(t, tc.deps)
			if tc.name == "metrics" { // a histogram appears once it has a sample
				if _, err := s.App().Test(httptest.NewRequest("GET", "/healthz", nil)); err != nil {
					t.Fatal(err)
				}
			}
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tc.key != "" {
				req.Header.Set("Authorization", "Bearer "+tc.key)
			}
			resp, err := s.App().Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				raw, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, raw)
			}
			body := validateResponse(t, router, req, resp)
			if tc.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if !bytes.Contains(body, []byte(tc.contains)) {
				t.Errorf("body lacks %s: %s", tc.contains, body)
			}
		})
	}
}

// TestValidateResponseCatchesDrift makes sure the validator is not vacuous:
// a body, a status or a content type the spec does not allow is reported.
func TestValidateResponseCatchesDrift(t *testing.T) {
	t.Parallel()
	router := specRouter(t)
	for _, tc := range []struct {
		name, ct, body string
		status         int
	}{
		{"missing required field", "application/json", `{"probability":0.1,"tier":"A","model_version":"x"}`, 200},
		{"wrong type", "application/json", `{"probability":"high","tier":"A","model_version":"x","reasons":[]}`, 200},
		{"tier outside enum", "application/json", `{"probability":0.1,"tier":"Z","model_version":"x","reasons":[]}`, 200},
		{"undocumented status", "application/json", `{}`, 418},
		{"problem as plain json", "application/json", `{"type":"about:blank","title":"Bad Request","status":400}`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("POST", "/v1/score", nil)
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatal(err)
			}
			in := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
				Status:                 tc.status, Header: http.Header{"Content-Type": {tc.ct}},
				Options: &openapi3filter.Options{IncludeResponseStatus: true},
			}
			in.SetBodyBytes([]byte(tc.body))
			if err := openapi3filter.ValidateResponse(t.Context(), in); err == nil {
				t.Error("drift not detected")
			}
		})
	}
}

func TestDocsRoutes(t *testing.T) {
	t.Parallel()
	s := specServer(t, specDeps{})
	resp, err := s.App().Test(httptest.NewRequest("GET", "/openapi.json", nil))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(resp.Body)
	if _, want, _ := loadSpec(); !bytes.Equal(js, want) || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("/openapi.json: %s, %d bytes", resp.Header.Get("Content-Type"), len(js))
	}
	resp, err = s.App().Test(httptest.NewRequest("GET", "/docs", nil))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("/docs headers %v", resp.Header)
	}
	// Offline machines: the page must not load anything from elsewhere.
	for _, bad := range []string{"http://", "https://", "//cdn", "<script src", "<link "} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("docs.html refers to %q: it must be self-contained", bad)
		}
	}
}
