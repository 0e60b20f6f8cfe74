package queue

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/leadq/leadq/internal/testenv"
)

// TestPortableLuaTwins: the embedded Redis (`make run`) lacks cmsgpack and
// bit, so common.lua carries pure-Lua twins. On real Redis, which has both,
// they must agree bit for bit with the C versions they stand in for.
func TestPortableLuaTwins(t *testing.T) {
	rdb, _ := testenv.Redis(t)
	r := rand.New(rand.NewPCG(7, 11))
	v := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, -2.5e-300, 5e-324, -5e-324, math.MaxFloat64,
		math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), 1.7e9, -0.69314718055994529}
	for range 500 {
		v = append(v, math.Float64frombits(r.Uint64()&^(0x7ff<<52)|uint64(r.IntN(2046)+1)<<52)) // any finite double
	}
	// Compare as the bits of %a-free exact text: %.17g round-trips a double.
	const script = `
local a, b = unpackflua(ARGV[1]), cmsgpack.unpack(ARGV[1])
if #a ~= #b then return 'length ' .. #a .. ' vs ' .. #b end
for i = 1, #a do
  if fmt(a[i]) ~= fmt(b[i]) or 1 / a[i] ~= 1 / b[i] then return 'element ' .. i .. ': ' .. fmt(a[i]) .. ' vs ' .. fmt(b[i]) end
end
for m = 0, 127 do
  for i = 0, 6 do
    if bitset(m, i) ~= (bit.band(m, bit.lshift(1, i)) ~= 0) then return 'bit ' .. i .. ' of ' .. m end
  end
end
return 'ok'`
	got, err := rdb.Eval(t.Context(), luaCommon+script, nil, msgpackFloats(v)).Text()
	if err != nil || got != "ok" {
		t.Fatalf("pure-Lua twins disagree with cmsgpack/bit: %q %v", got, err)
	}
}

// TestFtoa17MatchesLuaFmt: rescore.lua takes its fast path by comparing the
// trigger time it is sent (ftoa17) with the one it stored (fmt, C's %.17g)
// as text. A mismatch would only cost the numeric comparison, but the
// spelling must agree for the fast path to be the usual one.
func TestFtoa17MatchesLuaFmt(t *testing.T) {
	rdb, _ := testenv.Redis(t)
	r := rand.New(rand.NewPCG(3, 5))
	v := []any{}
	for _, x := range []float64{0, 1, -1, 0.1, 1e17, 1e16, 123456789.125, 27355746.153, 1e-5, -3.25e-300} {
		v = append(v, ftoa(x))
	}
	for range 500 {
		v = append(v, ftoa(r.Float64()*4e9-1e9), ftoa(r.NormFloat64()*1e-3), ftoa(float64(r.Int64())))
	}
	got, err := rdb.Eval(t.Context(), luaCommon+`
local out = {}
for i, s in ipairs(ARGV) do out[i] = fmt(tonumber(s)) end
return out`, nil, v...).StringSlice()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range got {
		if want := ftoa17(atof(v[i].(string))); s != want {
			t.Errorf("%s: Lua's fmt spells %q, ftoa17 %q", v[i], s, want)
		}
	}
}
