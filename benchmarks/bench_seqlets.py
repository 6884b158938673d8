"""Seqlet recall, precision and annotation accuracy on held-out simulated positives.

Simulates sequences with planted enhancer motifs (a seed the bundled model never
saw), attributes them with the bundled model, calls seqlets against a
dinucleotide-shuffled null and names them with Tomtom.  Matching: a planted
enhancer instance is *found* when some seqlet's span (with flanks) covers at
least half of the instance's bases; a seqlet is *correct* when it covers at
least half of some planted instance in its sequence.  Annotation accuracy is
over correct seqlets: the seqlet's name belongs to the planted motif's family
(:data:`FAMILIES`).  The same caller on a random-weight model of the same
architecture (with its own shuffled null) gives the "random" counts.

Usage: python benchmarks/bench_seqlets.py [--n 400] [--seed 2026] [--methods grad_x_input,ism] [--p-threshold 0.02]
"""

from __future__ import annotations

import argparse
import re
import time

import numpy as np
import pandas as pd
import torch

import seqsal
from seqsal.attribution import attribute, per_position
from seqsal.models import EnhancerCNN
from seqsal.seqlets import SeqletSettings, annotate_seqlets, call_seqlets, shuffled_null
from seqsal.simulate import simulate_enhancers

FAMILIES = {
    "Gata1": r"^gata",
    "FOS::JUN": r"^(fos|jun|batf|jdp2|nfe2|bach)",
    "ETS1": r"^(ets|elk|elf|etv|erg|fli1|ewsr1-fli1|fev|gabpa|spi[1bc]|ehf|erf|spdef)",
    "CREB1": r"^(creb|crem|atf|jdp2|jun)",
    "SP1": r"^(sp\d|klf)",
}
"""JASPAR names counted as the planted motif's family (same DNA-binding class and core site).

bZIP sites overlap: JASPAR 2016's JUN (MA0488.1) and JUND(var.2) (MA0492.1)
are the CRE-like ``TGATGTCA`` sites of JUN-ATF dimers, so they count for CREB1
as well as for FOS::JUN.  ``exact`` in the table counts only the planted name.
"""


def in_family(planted: str, name: str) -> bool:
    return re.match(FAMILIES[planted], name, flags=re.IGNORECASE) is not None


def match(seqlets: pd.DataFrame, planted: pd.DataFrame, ids: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mark planted instances found and seqlets correct (>= 50 % of the instance covered)."""
    row_of = {record_id: i for i, record_id in enumerate(ids)}
    planted = planted[planted["role"] == "enhancer"].copy()
    planted["sequence_index"] = planted["id"].map(row_of)
    planted["found"] = False
    seqlets = seqlets.copy()
    seqlets["planted"] = ""
    by_sequence = {i: group for i, group in planted.groupby("sequence_index")}
    for k, seqlet in seqlets.iterrows():
        group = by_sequence.get(seqlet["sequence_index"])
        if group is None:
            continue
        overlap = np.minimum(group["end"], seqlet["end"]) - np.maximum(group["start"], seqlet["start"])
        hit = overlap >= 0.5 * (group["end"] - group["start"])
        if hit.any():
            planted.loc[group.index[hit], "found"] = True
            best = group.index[hit][np.argmax(overlap[hit])]
            seqlets.loc[k, "planted"] = planted.loc[best, "name"]
    return seqlets, planted


def evaluate(model, X, ids, planted, method, settings, annotate=True) -> tuple[dict, pd.DataFrame]:
    t0 = time.perf_counter()
    hypothetical = attribute(model, X, method, correct=True, hypothetical=True, batch_size=64)
    scores = per_position(hypothetical * X)
    null = shuffled_null(model, X, method, window=settings.window, correct=True, batch_size=64)
    seqlets = call_seqlets(scores, settings, null)
    if annotate:
        seqlets = annotate_seqlets(seqlets, hypothetical, X)
    seqlets, instances = match(seqlets, planted, ids)
    correct = seqlets["planted"] != ""
    row = {
        "method": method,
        "n_sequences": len(X),
        "n_planted": len(instances),
        "n_seqlets": len(seqlets),
        "seqlets_per_seq": len(seqlets) / len(X),
        "recall": instances["found"].mean(),
        "precision": correct.mean() if len(seqlets) else float("nan"),
        "n_negative": int((seqlets["sign"] < 0).sum()),
    }
    if annotate:
        named = [in_family(p, m) for p, m in zip(seqlets.loc[correct, "planted"], seqlets.loc[correct, "motif"])]
        row["annotation"] = float(np.mean(named)) if named else float("nan")
        exact = seqlets.loc[correct, "planted"].str.lower() == seqlets.loc[correct, "motif"].str.lower()
        row["exact"] = float(exact.mean()) if named else float("nan")
        row["unknown"] = float((seqlets.loc[correct, "motif"] == "unknown").mean())
    row["seconds"] = time.perf_counter() - t0
    return row, seqlets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="simulated sequences (half positive)")
    parser.add_argument("--seed", type=int, default=2026, help="simulation seed (2026: held out; tune on another)")
    parser.add_argument("--methods", default="grad_x_input,ism")
    parser.add_argument("--p-threshold", type=float, default=SeqletSettings.p_threshold)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = simulate_enhancers(args.n, 249, random_state=args.seed)
    positives = data.labels == 1
    ids = [i for i, keep in zip(data.ids, positives) if keep]
    X = seqsal.one_hot([s for s, keep in zip(data.sequences, positives) if keep])
    trained = seqsal.load_model("default", device="cpu")
    torch.manual_seed(0)
    random = EnhancerCNN(trained.config).eval()
    settings = SeqletSettings(p_threshold=args.p_threshold)
    rows = []
    for method in args.methods.split(","):
        row, table = evaluate(trained, X, ids, data.planted, method, settings)
        rows.append({"model": "trained", **row})
        print(f"{method}: names of correct seqlets by planted motif")
        print(table[table["planted"] != ""].groupby("planted")["motif"].value_counts().to_string())
        row, _ = evaluate(random, X, ids, data.planted, method, settings, annotate=False)
        rows.append({"model": "random", **row})
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
