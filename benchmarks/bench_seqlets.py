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

Two truths.  ``recall`` is over every planted enhancer instance.  The simulator
samples each instance's bases from its motif's matrix, so some instances are
weak sites the trained model barely responds to, and no caller faithful to the
model can find those.  ``recall_used`` is therefore also reported, over the
instances the model demonstrably uses: replacing the instance's bases with
background bases (the simulator's GC, :data:`REPLACEMENTS` draws averaged)
lowers the trained model's logit by more than :data:`USED_DELTA`
(:func:`instance_effects`).  ``precision`` is against the planted table;
``precision_model`` counts a seqlet correct when replacing its core with
background moves the explained model's logit in the seqlet's sign by more than
:data:`USED_DELTA`, whether or not a motif was planted there (chance sites in
the random background count, as the model responds to them).

The run-level gate (``--fdr``, :mod:`seqsal.seqlets.fdr`) applies over the run's
sequences, as in ``seqsal explain --seqlets``; ``estimated_fdr`` is its estimate
at the per-window threshold and ``window_cutoff`` the cutoff it set (the
largest window p-value below the threshold when the gate did not bind, 0
when it kept nothing, 1 with ``--fdr 1``).

``--oracle`` asks the same of the simulation's (nearly) Bayes-optimal
classifier (:mod:`simulation_oracle`): the share of planted instances that
any model of these data can be expected to use, hence the highest recall over
all planted instances that a caller faithful to a good model can reach.

Usage: python benchmarks/bench_seqlets.py [--n 400] [--seed 2026] [--methods grad_x_input,ism] [--p-threshold 0.02]
       [--fdr 0.5] [--random-seeds 0] [--oracle]
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
from seqsal.models import EnhancerCNN, predict
from seqsal.seqlets import SeqletSettings, WindowTally, annotate_seqlets, call_seqlets, shuffled_null
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


USED_DELTA = 0.5
"""Logit drop above which the model counts as using a planted instance (``recall_used``).

On a tuning set (seed 11, bundled model) replacing a random 9-base stretch of
background that overlaps no planted instance lowered the logit by more than
0.5 in 5 % of 464 trials: an instance above it matters to the model more than
95 % of background does.
"""

REPLACEMENTS = 8
"""Background draws averaged per instance in :func:`instance_effects`."""


def instance_effects(model, X: np.ndarray, planted: pd.DataFrame, *, gc: float = 0.41,
                     n_draws: int = REPLACEMENTS, random_state: int = 0) -> np.ndarray:
    """How much each instance matters to the model: logit drop when its bases become background.

    Parameters
    ----------
    model
        Maps one-hot ``(N, 4, L)`` to logits ``(N, T)``; output 0 is used.  Any
        other callable is taken to return logits ``(N,)`` itself (the
        simulation's oracle, :mod:`simulation_oracle`).
    X
        One-hot sequences ``(N, 4, L)``.
    planted
        One row per instance with ``sequence_index``, ``start`` and ``end``.
    gc
        GC content of the replacement bases (the simulator's background).
    n_draws
        Replacements per instance; the drop is averaged over them so one
        replacement that happens to recreate a site does not decide.
    random_state
        Seed of the replacement bases.

    Returns
    -------
    numpy.ndarray
        ``(len(planted),)``: original logit minus the mean logit over the
        replacements; positive when the instance raises the output.
    """
    rng = np.random.default_rng(random_state)
    base_probabilities = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    variants = []
    for index, start, end in planted[["sequence_index", "start", "end"]].itertuples(index=False):
        for _ in range(n_draws):
            variant = X[index].copy()
            variant[:, start:end] = np.eye(4)[rng.choice(4, size=end - start, p=base_probabilities)].T
            variants.append(variant)
    def logits(sequences: np.ndarray) -> np.ndarray:
        return predict(model, sequences, device="cpu")[:, 0] if isinstance(model, torch.nn.Module) else model(sequences)

    original = logits(X)[planted["sequence_index"].to_numpy()]
    replaced = logits(np.stack(variants)).reshape(len(planted), n_draws)
    return original - replaced.mean(axis=1)


def core_effects(model, X: np.ndarray, seqlets: pd.DataFrame) -> np.ndarray:
    """Each seqlet's core replaced by background (:func:`instance_effects`), oriented by the seqlet's sign."""
    cores = pd.DataFrame({"sequence_index": seqlets["sequence_index"], "start": seqlets["core_start"],
                          "end": seqlets["core_end"]})
    return instance_effects(model, X, cores) * seqlets["sign"].to_numpy()


def in_family(planted: str, name: str) -> bool:
    return re.match(FAMILIES[planted], name, flags=re.IGNORECASE) is not None


def enhancer_instances(planted: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    """The planted enhancer instances of the sequences ``ids``, with their ``sequence_index`` among them."""
    row_of = {record_id: i for i, record_id in enumerate(ids)}
    instances = planted[(planted["role"] == "enhancer") & planted["id"].isin(row_of)].reset_index(drop=True)
    return instances.assign(sequence_index=instances["id"].map(row_of))


def match(seqlets: pd.DataFrame, instances: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mark instances (:func:`enhancer_instances`) found and seqlets correct (>= 50 % of the instance covered)."""
    planted = instances.assign(found=False)
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


def evaluate(model, X, instances, method, settings, annotate=True) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """One method's seqlets on ``X`` scored against ``instances`` (with a ``used`` column for ``recall_used``)."""
    t0 = time.perf_counter()
    hypothetical = attribute(model, X, method, correct=True, hypothetical=True, batch_size=64)
    scores = per_position(hypothetical * X)
    null = shuffled_null(model, X, method, window=settings.window, correct=True, batch_size=64)
    tally = WindowTally(null, settings.p_threshold, settings.fdr)
    tally.add(scores)
    seqlets = call_seqlets(scores, settings, null, cutoff=tally.cutoff)
    if annotate:
        seqlets = annotate_seqlets(seqlets, hypothetical, X)
    seqlets, instances = match(seqlets, instances)
    correct = seqlets["planted"] != ""
    row = {
        "method": method,
        "n_sequences": len(X),
        "n_planted": len(instances),
        "n_used": int(instances["used"].sum()),
        "n_seqlets": len(seqlets),
        "seqlets_per_seq": len(seqlets) / len(X),
        "recall": instances["found"].mean(),
        "recall_used": instances.loc[instances["used"], "found"].mean(),
        "precision": correct.mean() if len(seqlets) else float("nan"),
        "precision_model": np.mean(core_effects(model, X, seqlets) > USED_DELTA) if len(seqlets) else float("nan"),
        "n_negative": int((seqlets["sign"] < 0).sum()),
        "estimated_fdr": tally.estimated_fdr,
        "window_cutoff": tally.cutoff,
    }
    if annotate:
        named = [in_family(p, m) for p, m in zip(seqlets.loc[correct, "planted"], seqlets.loc[correct, "motif"])]
        row["annotation"] = float(np.mean(named)) if named else float("nan")
        exact = seqlets.loc[correct, "planted"].str.lower() == seqlets.loc[correct, "motif"].str.lower()
        row["exact"] = float(exact.mean()) if named else float("nan")
        row["unknown"] = float((seqlets.loc[correct, "motif"] == "unknown").mean())
    row["seconds"] = time.perf_counter() - t0
    return row, seqlets, instances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="simulated sequences (half positive)")
    parser.add_argument("--seed", type=int, default=2026, help="simulation seed (2026: held out; tune on another)")
    parser.add_argument("--methods", default="grad_x_input,ism")
    parser.add_argument("--p-threshold", type=float, default=SeqletSettings.p_threshold)
    parser.add_argument("--fdr", type=float, default=SeqletSettings.fdr, help="run-level gate (1: off)")
    parser.add_argument("--random-seeds", default="0", help="torch seeds of the random-weight models, e.g. 0,1,2,3")
    parser.add_argument("--oracle", action="store_true",
                        help="also: which instances the simulation's Bayes-optimal classifier uses (the ceiling)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = simulate_enhancers(args.n, 249, random_state=args.seed)
    positives = data.labels == 1
    ids = [i for i, keep in zip(data.ids, positives) if keep]
    X = seqsal.one_hot([s for s, keep in zip(data.sequences, positives) if keep])
    trained = seqsal.load_model("default", device="cpu")
    randoms = {}
    for seed in map(int, args.random_seeds.split(",")):
        torch.manual_seed(seed)
        randoms[f"random (seed {seed})"] = EnhancerCNN(trained.config).eval()
    instances = enhancer_instances(data.planted, ids)
    instances["delta"] = instance_effects(trained, X, instances)
    instances["used"] = instances["delta"] > USED_DELTA
    settings = SeqletSettings(p_threshold=args.p_threshold, fdr=args.fdr)
    rows, by_family = [], {}
    for method in args.methods.split(","):
        row, table, found = evaluate(trained, X, instances, method, settings)
        rows.append({"model": "trained", **row})
        by_family[method] = found.groupby("name")["found"].mean()
        by_family[f"{method} (used)"] = found[found["used"]].groupby("name")["found"].mean()
        print(f"{method}: names of correct seqlets by planted motif")
        print(table[table["planted"] != ""].groupby("planted")["motif"].value_counts().to_string())
        for name, random in randoms.items():
            row, _, _ = evaluate(random, X, instances, method, settings, annotate=False)
            rows.append({"model": name, **row})
    used = instances.groupby("name").agg(n_planted=("used", "size"), used_share=("used", "mean"),
                                         median_delta=("delta", "median"))
    if args.oracle:
        from simulation_oracle import SimulationOracle

        oracle_used = pd.Series(instance_effects(SimulationOracle(), X, instances) > USED_DELTA)
        used["oracle_used_share"] = oracle_used.groupby(instances["name"]).mean()
        print(f"share of planted instances used: trained model {instances['used'].mean():.3f}, "
              f"Bayes-optimal oracle {oracle_used.mean():.3f}")
    print("Recall by planted motif (trained model); used: logit drop on replacement >", USED_DELTA)
    print(used.join(pd.DataFrame(by_family)).to_markdown(floatfmt=".3f"))
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
