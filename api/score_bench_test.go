package api

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// benchForm is the body bench/http/wrk/score.lua sends.
const benchForm = `{"email":"jane.doe@acme-robotics.com","first_name":"Jane","last_name":"Doe","phone":"+1 415 555 0134",` +
	`"company":"Acme Robotics","title":"VP of Engineering","industry":"manufacturing","company_size":"201-500",` +
	`"country":"US","region":"na","language":"en","source":"webinar","utm_source":"google",` +
	`"utm_medium":"cpc","utm_campaign":"q3-launch","budget":"approved","authority":"decision_maker",` +
	`"need":"urgent","timeline":"this_quarter","consent":true}`

// BenchmarkPostScore runs POST /v1/score through the whole Fiber app
// (middleware, auth, handler) on an in-memory request, no network:
//
//	GODEBUG=cgocheck=0 go test -run '^$' -bench PostScore -benchmem -cpuprofile /tmp/score.prof ./api/
func BenchmarkPostScore(b *testing.B) {
	h := scoreServer().App().Handler()
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	for b.Loop() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/v1/score")
		ctx.Request.Header.SetContentType("application/json")
		ctx.Request.Header.Set("Authorization", "Bearer form-secret")
		ctx.Request.SetBodyString(benchForm)
		h(&ctx)
		if ctx.Response.StatusCode() != 200 {
			b.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}
