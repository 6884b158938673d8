"""Check 4: leakage: exact, reverse-complement and near-duplicate records across classes and splits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqsal.audit.data import AuditData, with_ids
from seqsal.audit.findings import AuditThresholds, CheckResult, Finding, percent
from seqsal.audit.overlap import overlapping_pairs, record_intervals
from seqsal.audit.profile import DatasetProfile, profile_dataset
from seqsal.audit.sketch import (
    LSH_BANDS,
    MIN_SKETCH_KMERS,
    SKETCH_BINS,
    SKETCH_K,
    near_duplicate_pairs,
)
from seqsal.encoding import reverse_complement


def exact_duplicates(data: AuditData) -> pd.DataFrame:
    """Groups of records with identical sequence up to case and reverse complement.

    A sequence and its reverse complement are the same DNA; a model trained
    with reverse-complement augmentation (or any strand-symmetric model) sees
    them as one, so they count as duplicates.

    Returns
    -------
    pandas.DataFrame
        ``group, row, orientation`` (``+``: as the group's first member, ``-``:
        reverse complement of it), only for groups of two or more records.
    """
    upper = [sequence.upper() for sequence in data.sequences]
    keys = [min(sequence, reverse_complement(sequence)) for sequence in upper]
    group, _ = pd.factorize(pd.Series(keys), sort=False)
    sizes = np.bincount(group)
    rows = np.flatnonzero(sizes[group] >= 2)
    forward = np.array([upper[row] == keys[row] for row in rows], dtype=bool)
    frame = pd.DataFrame({"group": group[rows], "row": rows, "forward": forward})
    first_forward = frame.groupby("group")["forward"].transform("first")
    frame["orientation"] = np.where(frame["forward"] == first_forward, "+", "-")
    frame["group"] = pd.factorize(frame["group"])[0]
    return frame.drop(columns="forward")



def check_leakage(
    data: AuditData, thresholds: AuditThresholds = AuditThresholds(), profile: DatasetProfile | None = None
) -> CheckResult:
    """Find duplicated records that leak labels or test data.

    Four findings, each a count that should be zero (or small):

    - exact or reverse-complement duplicates *across classes*: the same DNA
      labelled both ways, a label conflict no model can resolve;
    - exact or reverse-complement duplicates *across splits*: test records
      the model saw in training, so test metrics overstate generalisation;
    - near-duplicates (estimated 8-mer Jaccard >= ``near_duplicate_jaccard``)
      across classes or splits, the same problems with a few edits;
    - redundant copies within one class and split, flagged above
      ``max_duplicate_fraction`` of the records because they weight some
      sequences many times over.
    """
    profile = profile or profile_dataset(data, (SKETCH_K,), thresholds.homopolymer_length)
    splits = data.splits if data.splits is not None else np.full(len(data), "all")
    groups = exact_duplicates(data)
    groups["label"] = data.labels[groups["row"]]
    groups["split_name"] = splits[groups["row"]]
    per_group = groups.groupby("group").agg(size=("row", "size"), classes=("label", "nunique"),
                                            split_count=("split_name", "nunique"))
    groups = groups.join(per_group, on="group")
    groups["cross_class"] = groups["classes"] > 1
    groups["cross_split"] = groups["split_count"] > 1
    cross_class = int(per_group["classes"].gt(1).sum())
    cross_split = int(per_group["split_count"].gt(1).sum())
    within = groups.groupby(["group", "label", "split_name"]).size()
    redundant = int((within - 1).sum())

    near_table = _near_duplicates(data, profile, groups, splits, thresholds.near_duplicate_jaccard)
    near_cross = near_table["cross_class_or_split"].to_numpy()
    n = len(data)

    def example_ids(mask: pd.Series) -> str:
        """The first three duplicate groups selected by ``mask``, e.g. ``dup0 = syn000037``."""
        chosen = groups[mask].groupby("group", sort=False)["row"].apply(
            lambda rows: " = ".join(data.ids[row] for row in rows))
        return "; ".join(chosen.head(3))

    findings = [
        _count_finding(
            "exact duplicates across classes", cross_class, cross_class > 0, "any group", n,
            f"{cross_class} sequences (or their reverse complements) occur in both classes, e.g. "
            f"{example_ids(groups['cross_class'])}: the same DNA carries both labels. Remove them from one class.",
            "No sequence occurs in both classes."),
    ]
    if data.splits is not None:
        findings.append(_count_finding(
            "exact duplicates across splits", cross_split, cross_split > 0, "any group", n,
            f"{cross_split} sequences (or their reverse complements) occur in more than one split, e.g. "
            f"{example_ids(groups['cross_split'])}: test records the model has trained on. Deduplicate before "
            "splitting, or split by genomic region.",
            "No sequence occurs in more than one split."))
    scope = "classes or splits" if data.splits is not None else "classes"
    crossing = near_table[near_cross]
    example = f"{crossing['id_a'].iloc[0]} and {crossing['id_b'].iloc[0]}" if len(crossing) else ""
    findings.append(_count_finding(
        f"near-duplicates across {scope}", len(crossing), len(crossing) > 0,
        f"any pair with Jaccard >= {thresholds.near_duplicate_jaccard:g}", n,
        f"{len(crossing)} pairs of near-identical records (8-mer Jaccard >= {thresholds.near_duplicate_jaccard:g}) "
        f"cross {scope}, e.g. {example}. Cluster by similarity (e.g. CD-HIT, MMseqs2) and keep each cluster in one "
        "split and class.",
        f"No near-identical pair crosses {scope} ({len(near_table)} near-duplicate pairs in all)."))
    fraction = redundant / n
    findings.append(_count_finding(
        "redundant copies within a class and split", redundant,
        fraction > thresholds.max_duplicate_fraction,
        f"share of records > {percent(thresholds.max_duplicate_fraction)}", n,
        f"{redundant} records ({percent(fraction)}) are copies of another record in the same class and split; "
        "they weight some sequences many times over. Deduplicate.",
        f"{redundant} records ({percent(fraction)}) are copies within their class and split."))
    duplicate_table = with_ids(data, groups[["group", "row", "orientation", "size", "cross_class", "cross_split"]])
    overlap_findings, overlap_table = genomic_overlap(data)
    return CheckResult(
        name="leakage",
        title="Leakage and duplicates",
        description=(
            "Records were grouped by identical sequence (ignoring case, counting reverse complements as the same). "
            f"Near-duplicates were found with MinHash sketches of canonical {SKETCH_K}-mer sets "
            f"({SKETCH_BINS} bins, LSH with {LSH_BANDS} bands); pairs with estimated Jaccard >= "
            f"{thresholds.near_duplicate_jaccard:g} are reported. Where record ids carry genomic coordinates "
            "(chr:start-end), intervals overlapping across classes or splits were looked for."
            + ("" if data.splits is not None else " No split table was given, so splits were not checked.")
        ),
        findings=findings + overlap_findings,
        tables={"duplicates": duplicate_table.drop(columns="row"), "near_duplicates": near_table,
                "overlaps": overlap_table},
    )


def _near_duplicates(data: AuditData, profile: DatasetProfile, groups: pd.DataFrame, splits: np.ndarray,
                     jaccard: float) -> pd.DataFrame:
    """Near-identical pairs (MinHash Jaccard ≥ ``jaccard``) that are not already exact duplicates of each other."""
    eligible = profile.sketch_kmers >= MIN_SKETCH_KMERS
    near = near_duplicate_pairs(profile.sketches, eligible, jaccard)
    exact_key = np.full(len(data), -1)
    exact_key[groups["row"].to_numpy()] = groups["group"].to_numpy()
    a, b = near["row_a"].to_numpy(), near["row_b"].to_numpy()
    near = near[(exact_key[a] < 0) | (exact_key[a] != exact_key[b])].reset_index(drop=True)
    a, b = near["row_a"].to_numpy(), near["row_b"].to_numpy()
    table = pd.DataFrame({
        "id_a": np.array(data.ids, dtype=object)[a], "id_b": np.array(data.ids, dtype=object)[b],
        "class_a": data.class_name(a), "class_b": data.class_name(b),
    })
    if data.splits is not None:
        table["split_a"], table["split_b"] = splits[a], splits[b]
    table["jaccard_estimate"] = near["jaccard"].to_numpy()
    table["cross_class_or_split"] = (data.labels[a] != data.labels[b]) | (splits[a] != splits[b])
    return table


def genomic_overlap(data: AuditData) -> tuple[list[Finding], pd.DataFrame]:
    """Findings and pair table of records whose genomic intervals overlap across classes or splits.

    Runs only when every record id carries coordinates; otherwise one
    finding says it was not run and why.
    """
    columns = ["id_a", "id_b", "class_a", "class_b", "split_a", "split_b", "overlap_bp", "across"]
    intervals = record_intervals(data.ids)
    if intervals is None:
        return [Finding(check="leakage", item="genomic overlap", test="not run", statistic=None, p_value=None,
                        q_value=None, effect_size=None, effect="", flag=False, threshold="needs coordinates in ids",
                        message="Record ids carry no genomic coordinates (e.g. chr1:100-200) for every record, so "
                                "overlapping intervals were not looked for.", status="not applicable")], \
            pd.DataFrame(columns=columns)
    splits = data.splits if data.splits is not None else np.full(len(data), "all")
    ids = np.array(data.ids, dtype=object)
    groupings = {"classes": data.labels} | ({"splits": splits} if data.splits is not None else {})
    findings, tables = [], []
    for scope, groups in groupings.items():
        pairs = overlapping_pairs(intervals, groups)
        a, b = pairs["row_a"].to_numpy(), pairs["row_b"].to_numpy()
        tables.append(pd.DataFrame({"id_a": ids[a], "id_b": ids[b], "class_a": data.class_name(a),
                                    "class_b": data.class_name(b), "split_a": splits[a], "split_b": splits[b],
                                    "overlap_bp": pairs["overlap"].to_numpy(), "across": scope}))
        involved = len(np.union1d(a, b))
        unit = "class" if scope == "classes" else "split"
        example = f", e.g. {ids[a[0]]} and {ids[b[0]]} ({int(pairs['overlap'].iloc[0])} bp)" if len(pairs) else ""
        findings.append(_count_finding(
            f"genomic overlap across {scope}", involved, involved > 0, "any overlapping pair", len(data),
            f"{involved} records overlap a record of another {unit} in the "
            f"genome{example}: they share DNA even where the sequences differ. Split by region (whole "
            "chromosomes or merged intervals) and keep overlapping records in one class.",
            f"No genomic interval overlaps one of another {unit}."))
    return findings, pd.concat(tables, ignore_index=True)[columns]


def _count_finding(item: str, count: int, flag: bool, rule: str, n: int, flagged: str, clean: str) -> Finding:
    """A leakage finding: a count, its share of all records, and a sentence for either verdict."""
    return Finding(check="leakage", item=item, test="count", statistic=float(count), p_value=None, q_value=None,
                   effect_size=count / n, effect="count / number of records", flag=bool(flag), threshold=rule,
                   message=flagged if flag else clean)
