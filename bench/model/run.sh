#!/usr/bin/env bash
# Model benchmark: leadq's two candidates (logistic regression and random
# forest, the one Train chooses marked) and scikit-learn's LogisticRegression and
# HistGradientBoosting on the UCI bank-marketing data, identical split
# (0-based row i is test when i % 5 == 4; `duration` dropped), in the same
# run, printed side by side as a Markdown table for BENCHMARKS.md.
#
#   bench/model/run.sh [path/to/bank-additional-full.csv]
set -euo pipefail
cd "$(dirname "$0")/../.."
export GODEBUG=cgocheck=0 # golearn's liblinear binding panics without it
DATA=${1:-../shared/data/bank-marketing/bank-additional-full.csv}
PY=${PYTHON:-python3}

if ! "$PY" -c 'import sklearn, pandas' 2>/dev/null; then
	echo "installing scikit-learn and pandas from PyPI" >&2
	"$PY" -m pip install -q scikit-learn pandas
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "leadq: training and timing the scorer" >&2
go run ./bench/model --csv "$DATA" >"$out/leadq.jsonl"
echo "scikit-learn $("$PY" -c 'import sklearn; print(sklearn.__version__)'): fitting" >&2
"$PY" bench/model/sklearn_baseline.py --csv "$DATA" >"$out/sklearn.jsonl"

"$PY" - "$out/leadq.jsonl" "$out/sklearn.jsonl" <<'PYEOF'
import json, platform, sys
rows, scorers = [], []
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)
        if "scorer" in r:
            scorers.append(r)
        else:
            rows.append(r)
print(f"Model quality on bank-marketing (test = row i % 5 == 4, {platform.node()}, same run)\n")
print("| model | AUC | log loss | Brier | ECE | top-decile lift | recall | fit s |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    name = r["model"] + (" **(chosen)**" if r.get("chosen") else "")
    print(f"| {name} | {r['auc']:.4f} | {r['log_loss']:.4f} | {r['brier']:.4f} | {r['ece']:.4f} "
          f"| {r['lift']:.2f} | {r['recall']:.3f} | {r['fit_seconds']:.2f} |")
ours = next(r for r in rows if r.get("chosen"))
print("\nleadq candidates' validation AUC (calibration split; the higher wins): " +
      ", ".join(f"{r['kind']} {r['validation_auc']:.4f}" for r in rows if "kind" in r))
best = max((r for r in rows if "kind" not in r), key=lambda r: r["auc"])
gap = best["auc"] - ours["auc"]
print(f"\nAUC gap to the best scikit-learn model ({best['model']}): {gap:+.4f} "
      f"(bar: ≤ 0.01 → {'met' if gap <= 0.01 else 'NOT met'}); "
      f"leadq ECE {ours['ece']:.4f} (bar ≤ 0.02 → {'met' if ours['ece'] <= 0.02 else 'NOT met'}); "
      f"scorer parity with golearn {ours['parity']}")
for scorer in scorers:
    print(f"\nScorer ({scorer['kind']}): {scorer['score_ns_op']:.0f} ns/op, {scorer['score_allocs_op']} allocs/op; "
          f"explain {scorer['explain_ns_op']:.0f} ns/op, {scorer['explain_allocs']} allocs/op; "
          f"rescoring {scorer['rescore_rows']:,} rows: {scorer['rescore_seconds']:.2f} s")
PYEOF
