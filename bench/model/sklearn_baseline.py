#!/usr/bin/env python3
"""scikit-learn baselines for leadq's model benchmark.

Loads the UCI bank-marketing CSV, drops `duration` (known only after the call:
it leaks the label), uses the split the leadq benchmark uses (0-based row i is
test when i % 5 == 4, the rest is train) and prints one JSON line per model
with AUC, log loss, Brier, ECE, top-decile lift and recall and fit time.

ECE and lift are computed exactly as leadq's training.Evaluate computes them:
10 equal-width probability bins (bin = min(int(p*10), 9)), ECE the row-weighted
mean |mean p - observed rate|; the top decile is the ceil(n/10) highest
scores, rows tied at the cut counted by their group's positive rate.
"""
import argparse
import json
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler


def ece(p, y, bins=10):
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for k in range(bins):
        m = idx == k
        if m.any():
            total += m.sum() / len(p) * abs(p[m].mean() - y[m].mean())
    return total


def top_decile(p, y):
    k = (len(p) + 9) // 10
    cut = np.sort(p)[::-1][k - 1]
    above = p > cut
    tied = p == cut
    pos = y[above].sum() + (k - above.sum()) * y[tied].sum() / tied.sum()
    return pos / k / y.mean(), pos / y.sum()


def report(name, p, y, seconds):
    lift, recall = top_decile(p, y)
    print(json.dumps({
        "model": name,
        "auc": roc_auc_score(y, p),
        "log_loss": log_loss(y, p),
        "brier": brier_score_loss(y, p),
        "ece": ece(p, y),
        "lift": lift,
        "recall": recall,
        "fit_seconds": seconds,
    }), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--csv", required=True)
    ap.add_argument("--test-every", type=int, default=5)
    args = ap.parse_args()

    df = pd.read_csv(args.csv, sep=";")
    y = (df.pop("y") == "yes").to_numpy().astype(int)
    df = df.drop(columns=["duration"])
    num = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    cat = [c for c in df.columns if c not in num]
    test = np.arange(len(df)) % args.test_every == args.test_every - 1
    Xtr, Xte, ytr, yte = df[~test], df[test], y[~test], y[test]

    lr = make_pipeline(
        ColumnTransformer([
            ("num", StandardScaler(), num),
            ("cat", OneHotEncoder(handle_unknown="ignore"), cat),
        ]),
        LogisticRegression(max_iter=2000),
    )
    t0 = time.perf_counter()
    lr.fit(Xtr, ytr)
    report("sklearn LogisticRegression", lr.predict_proba(Xte)[:, 1], yte, time.perf_counter() - t0)

    hgb = make_pipeline(
        ColumnTransformer([
            ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), cat),
            ("num", "passthrough", num),
        ]),
        HistGradientBoostingClassifier(
            categorical_features=list(range(len(cat))), random_state=0),
    )
    t0 = time.perf_counter()
    hgb.fit(Xtr, ytr)
    report("sklearn HistGradientBoosting", hgb.predict_proba(Xte)[:, 1], yte, time.perf_counter() - t0)


if __name__ == "__main__":
    main()
