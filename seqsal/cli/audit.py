"""``seqsal audit``: parse its options and call the library."""

from __future__ import annotations

import argparse
import sys

from seqsal.cli import options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal audit`` and its options."""
    parser = commands.add_parser(
        "audit", help="audit a labelled dataset for shortcuts (adapters, k-mers, composition, leakage)",
        description="Checks positives against negatives for shortcuts a model could learn instead of biology: "
                    "adapters and homopolymers, enriched k-mers without a known motif, GC/length/N/soft-mask "
                    "differences, duplicates across classes and splits, and trivial baselines; with --model, "
                    "how much the model relies on flagged artifacts. Writes summary.json, report.html and a "
                    "TSV per check. Exit status 0, or 1 with --fail-on-flag when anything is flagged. An activity "
                    "(regression) dataset is audited with --table instead of --pos/--neg: library flanks, k-mer and "
                    "GC association with activity (Spearman, BH FDR), ridge baselines (R², Spearman) and "
                    "duplicates across tables.")
    parser.add_argument("--pos", help="positive FASTA (plain or gzipped)")
    parser.add_argument("--neg", help="negative FASTA (plain or gzipped)")
    activity = parser.add_argument_group("activity (regression) dataset, instead of --pos/--neg")
    activity.add_argument("--table", action="append", default=None,
                          help="TSV (plain or gzip) of sequences and measured activity; repeat for each split "
                               "(each file is one split, compared for duplicates)")
    activity.add_argument("--sequence-column", default="seq", help="--table column holding sequences (default seq)")
    activity.add_argument("--target-column", default="mean_value",
                          help="--table column holding activity (default mean_value)")
    parser.add_argument("--splits", default=None, help="TSV with 'id' and 'split' columns covering every record")
    options.add_model(parser, default=None)
    parser.add_argument("--motif-db", default=None, help="MEME or JASPAR file (default: bundled JASPAR 2016)")
    parser.add_argument("--adapters", default=None, help="FASTA of adapters (default: bundled Illumina/Nextera)")
    options.add_output(parser)
    parser.add_argument("--fail-on-flag", action="store_true", help="exit with status 1 when anything is flagged")
    limits = parser.add_argument_group("flag thresholds (see AuditThresholds in seqsal/audit/findings.py for the reasons)")
    limits.add_argument("--fdr", type=float, default=0.01, help="largest q value that counts (default 0.01)")
    limits.add_argument("--adapter-ratio", type=float, default=2.0,
                        help="per-class rate ratio of adapter/homopolymer hits (default 2)")
    limits.add_argument("--adapter-min-length", type=int, default=12,
                        help="shortest stretch matching part of an adapter that counts as a hit (default 12)")
    limits.add_argument("--adapter-mismatch-rate", type=float, default=0.1,
                        help="largest share of mismatches in an adapter hit (default 0.1)")
    limits.add_argument("--flank-share", type=float, default=0.95,
                        help="share of records sharing a prefix/suffix for it to be a library flank (default 0.95)")
    limits.add_argument("--flank-length", type=int, default=8,
                        help="shortest library flank reported and left out of the class tests (default 8)")
    limits.add_argument("--homopolymer", type=int, default=10, help="shortest homopolymer run counted (default 10)")
    limits.add_argument("--kmer-log2-odds", type=float, default=2.0,
                        help="smallest |log2 odds ratio| of an enriched k-mer (default 2)")
    limits.add_argument("--kmer-min-fraction", type=float, default=0.01,
                        help="share of the enriched class carrying the k-mer (default 0.01)")
    limits.add_argument("--motif-match", type=float, default=0.8,
                        help="score fraction at which a k-mer or element is a known motif (default 0.8)")
    limits.add_argument("--artifact-length", type=int, default=12,
                        help="shortest shared element around enriched k-mers that counts as an artifact (default 12)")
    limits.add_argument("--ks-d", type=float, default=0.2,
                        help="smallest Kolmogorov-Smirnov D of a composition difference (default 0.2)")
    limits.add_argument("--baseline-auroc", type=float, default=0.65,
                        help="GC-only or length-only AUROC that is a shortcut (default 0.65)")
    limits.add_argument("--near-duplicate", type=float, default=0.8,
                        help="8-mer Jaccard of near-duplicates (default 0.8)")
    limits.add_argument("--max-duplicate-fraction", type=float, default=0.01,
                        help="share of redundant copies within a class and split (default 0.01)")
    limits.add_argument("--attribution-enrichment", type=float, default=2.0,
                        help="with --model: attribution share on artifacts / their position share (default 2)")
    limits.add_argument("--prediction-change", type=float, default=0.5,
                        help="with --model: mean |logit change| without artifacts (default 0.5)")
    how = parser.add_argument_group("computation")
    how.add_argument("--k", type=options.int_list, default=(4, 5, 6, 7, 8), help="k-mer lengths (default 4,5,6,7,8)")
    how.add_argument("--baseline-max", type=int, default=20000,
                     help="records per class for the baselines (default 20000)")
    how.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    how.add_argument("--model-max", type=int, default=1000,
                     help="with --model: artifact-carrying records explained at most (default 1000)")
    how.add_argument("--seed", type=options.non_negative_int, default=0, help="random seed (default 0)")
    options.add_device(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from seqsal.audit.findings import AuditThresholds
    from seqsal.audit.run import run_audit
    from seqsal.errors import check

    thresholds = AuditThresholds(
        fdr=args.fdr, adapter_ratio=args.adapter_ratio, adapter_min_length=args.adapter_min_length,
        adapter_mismatch_rate=args.adapter_mismatch_rate, flank_min_share=args.flank_share,
        flank_min_length=args.flank_length, homopolymer_length=args.homopolymer,
        kmer_log2_odds=args.kmer_log2_odds, kmer_min_fraction=args.kmer_min_fraction,
        motif_match=args.motif_match, artifact_min_length=args.artifact_length, ks_statistic=args.ks_d,
        baseline_auroc=args.baseline_auroc, near_duplicate_jaccard=args.near_duplicate,
        max_duplicate_fraction=args.max_duplicate_fraction, attribution_enrichment=args.attribution_enrichment,
        prediction_change=args.prediction_change,
    )
    if args.table:
        return _run_activity(args, thresholds)
    check(args.pos and args.neg, "give --pos and --neg (two classes), or --table (an activity dataset)")
    result = run_audit(args.pos, args.neg, args.out, splits=args.splits, model=options.model_from_args(args),
                       motif_db=args.motif_db,
                       adapters=args.adapters, force=args.force, thresholds=thresholds, k_values=args.k,
                       baseline_max_per_class=args.baseline_max, folds=args.folds, max_model_sequences=args.model_max,
                       random_state=args.seed, device=args.device, progress=not args.quiet)
    flags = "; ".join(finding.item for finding in result.flags) or "none"
    untold = f"; too few records to tell or not run: {', '.join(result.untold)}" if result.untold else ""
    print(f"audited {result.dataset['n_positive']} positives and {result.dataset['n_negative']} negatives; "
          f"flags: {flags}{untold}; wrote {args.out}/ (report.html, summary.json, *.tsv)", file=sys.stderr)
    return 1 if result.flagged and args.fail_on_flag else 0


def _run_activity(args: argparse.Namespace, thresholds) -> int:
    """``seqsal audit --table ...``: the activity audit."""
    from seqsal.audit.activity_report import run_activity_audit
    from seqsal.errors import check

    check(not (args.pos or args.neg or args.splits or args.model),
          "--table audits an activity dataset; --pos, --neg, --splits and --model belong to the class audit")
    result = run_activity_audit(args.table, args.out, sequence_column=args.sequence_column,
                                target_column=args.target_column, motif_db=args.motif_db, adapters=args.adapters,
                                thresholds=thresholds, folds=args.folds, random_state=args.seed, force=args.force)
    flanks = next(f.message for f in result.findings if f.check == "flanks")
    print(f"audited {result.dataset['n_records']} records with activity; {flanks} Wrote {args.out}/ "
          "(report.html, summary.json, *.tsv)", file=sys.stderr)
    return 1 if result.flagged and args.fail_on_flag else 0
