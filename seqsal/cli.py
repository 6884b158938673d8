"""The ``seqsal`` command: thin subcommands over the library functions.

Every user-caused problem arrives here as :class:`seqsal.SeqsalError`; the
command prints its one sentence and exits with status 2, no traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.special import expit

import seqsal
from seqsal.errors import SeqsalError, check

EPILOG = "Run 'seqsal <command> --help' for a command's options. Docs: README.md."


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text}")
    return value


def _name_list(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _add_device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default=None,
                        help="torch device, e.g. cpu or cuda:0 (default: CUDA when available, else CPU)")
    parser.add_argument("--threads", type=_positive_int, default=None,
                        help="CPU threads for torch (default: torch's choice)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


# --------------------------------------------------------------------------- simulate
def _simulate(args: argparse.Namespace) -> None:
    from seqsal.simulate import simulate_enhancers, write_synthetic_set
    from seqsal import io

    out = io.prepare_output_dir(args.out)
    dataset = simulate_enhancers(args.n, args.length, positive_fraction=args.positive_fraction,
                                 random_state=args.seed)
    paths = write_synthetic_set(dataset, out)
    io.write_json(out / io.MANIFEST, {
        **io.manifest_header("simulate"), "complete": True,
        "n": args.n, "length": args.length, "seed": args.seed, "positive_fraction": args.positive_fraction,
        "files": {k: Path(v).name for k, v in paths.items()},
    })
    n_pos = int(dataset.labels.sum())
    print(f"wrote {args.n} sequences ({n_pos} positives) to {out}/: "
          + ", ".join(Path(p).name for p in paths.values()), file=sys.stderr)


# --------------------------------------------------------------------------- train
def _train(args: argparse.Namespace) -> None:
    import torch
    from seqsal import datasets
    from seqsal.models import ModelConfig, EnhancerCNN, save_model
    from seqsal.train import evaluate_predictions, fit, train_valid_split
    from seqsal.models import predict

    check(bool(args.fasta) != bool(args.pos),
          "give either --fasta with --labels, or --pos with --neg (a FASTA file or 'shuffle')")
    if args.fasta:
        check(args.labels, "--fasta needs --labels (a TSV with an 'id' column and target columns)")
        data = datasets.from_labels(args.fasta, args.labels, args.length, args.fit)
    else:
        check(args.neg, "--pos needs --neg: a negative FASTA, or 'shuffle' for dinucleotide-shuffled positives")
        data = datasets.from_pos_neg(args.pos, args.neg, args.length, args.fit, random_state=args.seed)
    task = args.task
    if task == "auto":
        task = "classification" if np.isin(data.y, (0.0, 1.0)).all() else "regression"

    if args.valid_fasta:
        train_set = data
        valid_set = (datasets.from_labels(args.valid_fasta, args.labels, data.X.shape[-1], args.fit)
                     if args.labels else None)
        check(valid_set is not None, "--valid-fasta needs --labels that cover its ids")
    else:
        train_idx, valid_idx = train_valid_split(len(data.ids), args.valid_fraction, random_state=args.seed)
        train_set, valid_set = data.subset(train_idx), data.subset(valid_idx)

    if args.augment_rc:
        train_set = train_set.with_reverse_complements()
    config = ModelConfig(
        input_length=data.X.shape[-1], n_outputs=data.y.shape[1], conv_channels=args.channels,
        kernel_sizes=args.kernels, dense_units=args.dense, activation=args.activation, head=args.head,
        dropout=args.dropout, task=task, output_names=data.target_names,
    )
    torch.manual_seed(args.seed)
    model = EnhancerCNN(config)
    started = time.time()
    result = fit(model, train_set.X, train_set.y, valid_set.X, valid_set.y, lr=args.lr, weight_decay=args.weight_decay,
                 batch_size=args.batch_size, max_epochs=args.epochs, patience=args.patience,
                 random_state=args.seed, device=args.device, progress=not args.quiet)
    metadata = {
        "trained_with": "seqsal " + seqsal.__version__,
        "command": "seqsal " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("seqsal") else "",
        "seed": args.seed,
        "n_train": len(train_set.ids),
        "n_valid": len(valid_set.ids),
        "best_epoch": result.best_epoch,
        "best_valid_loss": result.best_valid_loss,
        "train_seconds": round(time.time() - started, 1),
        "valid_metrics": evaluate_predictions(valid_set.y, predict(model, valid_set.X), task),
    }
    if args.test_fasta:
        check(args.labels, "--test-fasta needs --labels that cover its ids")
        test_set = datasets.from_labels(args.test_fasta, args.labels, config.input_length, args.fit)
        metadata["test_metrics"] = evaluate_predictions(test_set.y, predict(model, test_set.X), task)
        metadata["n_test"] = len(test_set.ids)
    save_model(model, args.out, metadata)
    summary = {k: v for k, v in metadata.items() if k.endswith("metrics")}
    print(f"saved {args.out} (best epoch {result.best_epoch}); {summary}", file=sys.stderr)


# --------------------------------------------------------------------------- predict
def _predict(args: argparse.Namespace) -> None:
    from seqsal import io
    from seqsal.models import load_model

    model = load_model(args.model)
    if args.fasta == "-":
        with io.stdin_as_file() as path:
            _predict_file(path, model, args)
    else:
        _predict_file(args.fasta, model, args)


def _predict_file(path: Path, model, args: argparse.Namespace) -> None:
    from seqsal import io
    from seqsal.datasets import encode_records
    from seqsal.models import predict

    names = list(model.config.output_names)
    first = True
    for records in io.iter_batches(io.iter_records(path), args.batch_size):
        X, fits = encode_records(records, model.config.input_length, args.fit)
        logits = predict(model, X, batch_size=args.batch_size, device=args.device)
        table = pd.DataFrame({"id": [r.id for r in records]})
        for j, name in enumerate(names):
            table[f"{name}.logit"] = logits[:, j]
            if model.config.task == "classification":
                table[f"{name}.probability"] = expit(logits[:, j])
        table["length_fit"] = [f.action for f in fits]
        table.to_csv(sys.stdout, sep="\t", index=False, header=first, float_format="%.6g")
        first = False


# --------------------------------------------------------------------------- explain
def _method_options(args: argparse.Namespace) -> dict:
    """Method options the user set explicitly (None means: the method's own default)."""
    names = ("steps", "baseline", "n_references", "n_samples", "sigma", "layer", "window", "start", "end")
    options = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    if args.seed is not None:
        options["random_state"] = args.seed
    return options


def _explain(args: argparse.Namespace) -> None:
    from seqsal.explain import ExplainSettings, explain_fasta, parse_methods

    settings = ExplainSettings(
        methods=parse_methods(args.method), target=args.target, output=args.output, correct=args.correct,
        fit=args.fit, batch_size=args.batch_size, n_logos=args.logos, motifs=args.motifs or (),
        motif_db=args.motif_db, motif_threshold=args.motif_threshold, logo_format=args.logo_format,
        options=_method_options(args), first_index=args.first_index,
    )
    bundle = explain_fasta(args.fasta, args.model, args.out, settings, device=args.device,
                           progress=not args.quiet, resume=args.resume)
    print(f"explained {len(bundle.scores)} sequences with {', '.join(settings.methods)}; "
          f"wrote {bundle.folder}/ (report.html, scores.tsv, ohe, attr.*, logos/)", file=sys.stderr)


# --------------------------------------------------------------------------- logo
def _logo(args: argparse.Namespace) -> None:
    from seqsal.bundle import load_bundle
    from seqsal.explain import bundle_logo_items, draw_logos, load_motif_list

    bundle = load_bundle(args.bundle)
    ranked = bundle.scores.sort_values("prediction", ascending=False, kind="stable")["id"]
    ids = list(args.ids) if args.ids else list(ranked.head(args.top))
    methods = list(args.method) if args.method else list(bundle.attributions)
    items = {method: bundle_logo_items(bundle, ids, method) for method in methods}
    motifs = load_motif_list(args.motifs or (), args.motif_db)
    paths = draw_logos(bundle.folder, items, motifs=motifs, fmt=args.format, motif_threshold=args.motif_threshold,
                       correct=bool(bundle.manifest["settings"].get("correct")))
    for path in paths:
        print(path)


# --------------------------------------------------------------------------- split / merge
def _split(args: argparse.Namespace) -> None:
    from seqsal import io

    shards = io.split_fasta(args.fasta, args.out, args.shard_size)
    print("file\tfirst_index\tn_records")
    for shard in shards:
        print(f"{shard.path}\t{shard.first_index}\t{shard.n_records}")


def _merge(args: argparse.Namespace) -> None:
    from seqsal.merge import merge_bundles

    bundle = merge_bundles(args.bundles, args.out, n_logos=args.logos, logo_format=args.logo_format,
                           motifs=args.motifs or (), motif_db=args.motif_db, motif_threshold=args.motif_threshold)
    print(f"merged {len(args.bundles)} bundles, {len(bundle.scores)} sequences; wrote {bundle.folder}/",
          file=sys.stderr)


# --------------------------------------------------------------------------- audit
def _audit(args: argparse.Namespace) -> int:
    from seqsal import io
    from seqsal.audit import AuditThresholds, audit_dataset, load_dataset, write_audit
    from seqsal.models import load_model
    from seqsal.motifs import MotifDatabase, load_adapters

    thresholds = AuditThresholds(
        fdr=args.fdr, adapter_ratio=args.adapter_ratio, homopolymer_length=args.homopolymer,
        kmer_log2_odds=args.kmer_log2_odds, kmer_min_fraction=args.kmer_min_fraction,
        motif_match=args.motif_match, artifact_min_length=args.artifact_length, ks_statistic=args.ks_d,
        baseline_auroc=args.baseline_auroc, near_duplicate_jaccard=args.near_duplicate,
        max_duplicate_fraction=args.max_duplicate_fraction, attribution_enrichment=args.attribution_enrichment,
        prediction_change=args.prediction_change,
    )
    check(all(1 <= k <= 12 for k in args.k), f"--k values must lie in 1-12, got {','.join(map(str, args.k))}")
    data = load_dataset(args.pos, args.neg, args.splits)
    if args.model:
        load_model(args.model, device=args.device)  # a bad model file stops here, before the long checks
    motifs = MotifDatabase.from_file(args.motif_db) if args.motif_db else MotifDatabase.default()
    adapters = load_adapters(args.adapters)
    io.prepare_output_dir(args.out)  # refuse a foreign folder now, not after minutes of work
    started = time.time()

    def note(stage: str) -> None:
        if not args.quiet:
            print(f"audit: {stage} done ({time.time() - started:.0f} s)", file=sys.stderr)

    result = audit_dataset(data, thresholds=thresholds, adapters=adapters, motifs=motifs, model=args.model,
                           k_values=args.k, baseline_max_per_class=args.baseline_max, folds=args.folds,
                           max_model_sequences=args.model_max, random_state=args.seed, device=args.device,
                           progress=note)
    inputs = {name: {"path": str(path), "sha256": io.file_sha256(path)}
              for name, path in (("positives", args.pos), ("negatives", args.neg), ("splits", args.splits),
                                 ("model", args.model), ("motif_db", args.motif_db), ("adapters", args.adapters))
              if path}
    folder = write_audit(result, args.out, {"inputs": inputs, "command": "seqsal " + " ".join(sys.argv[1:])})
    flags = "; ".join(finding.item for finding in result.flags) or "none"
    print(f"audited {data.class_sizes[1]} positives and {data.class_sizes[0]} negatives; flags: {flags}; "
          f"wrote {folder}/ (report.html, summary.json, *.tsv)", file=sys.stderr)
    return 1 if result.flagged and args.fail_on_flag else 0


def _evaluate(args: argparse.Namespace) -> None:
    from seqsal.evaluation_run import EvaluationSettings, evaluate_bundle

    settings = EvaluationSettings(
        checks=tuple(args.checks), max_sequences=args.max_sequences, replacement=args.replacement,
        steps=args.steps, masks=args.masks, motifs=tuple(args.motifs), motif_db=args.motif_db,
        random_state=args.seed, batch_size=args.batch_size,
    )
    table = evaluate_bundle(args.bundle, args.out, settings, model=args.model, device=args.device,
                            progress=not args.quiet)
    if not args.quiet:
        print(table.to_string(index=False), file=sys.stderr)


# --------------------------------------------------------------------------- shortcut
def _shortcut(args: argparse.Namespace) -> None:
    import torch
    from seqsal.shortcut import ShortcutConfig, run_shortcut

    if args.threads is None:
        # The experiment's models are tiny: on shared cores torch's thread pool costs more than it gains
        # (one training run: 18 s on one thread, 100 s on two, with other work on the machine).
        torch.set_num_threads(1)
    overrides = {field: getattr(args, option) for field, option in (
        ("n", "n"), ("length", "length"), ("adapter", "adapter"), ("adapter_length", "adapter_length"),
        ("adapter_file", "adapter_file"), ("placement", "placement"), ("methods", "methods"),
        ("epochs", "epochs"), ("n_eval", "n_eval"), ("random_state", "seed"),
    ) if getattr(args, option) is not None}
    if args.rates is not None:
        try:
            overrides["rates"] = tuple(float(v) for v in args.rates.split(",") if v.strip())
        except ValueError:
            raise SeqsalError(f"--rates must be comma-separated numbers in [0, 1], e.g. 0,0.1,0.5,1; "
                              f"got {args.rates!r}") from None
    config = (ShortcutConfig.quick if args.quick else ShortcutConfig)(**overrides)
    result = run_shortcut(config, args.out, batch_size=args.batch_size, device=args.device,
                          progress=not args.quiet)
    print(f"{int(result.story['holds'].sum())} of {len(result.story)} claims of the expected story hold; wrote "
          f"{result.folder}/ (report.html, shortcut.tsv, reliance.tsv, tradeoff.png, rates.png, logos/, models/)",
          file=sys.stderr)


# --------------------------------------------------------------------------- dream
def _dream(args: argparse.Namespace) -> None:
    import torch
    from seqsal.dream import DreamSettings, run_dream

    if args.threads is None:
        # A batch of 8 sequences is too small for torch's thread pool on shared cores: the 200 default steps
        # of the bundled model took 12 s on one thread and 44 s on two, with other work on the machine.
        torch.set_num_threads(1)
    settings = DreamSettings(
        target=args.target, n_seeds=args.n_seeds, steps=args.steps, learning_rate=args.learning_rate, l2=args.l2,
        mode=args.mode, temperature=args.temperature, random_state=args.seed, motifs=args.motifs,
        motif_db=args.motif_db, motif_threshold=args.motif_threshold, n_logos=args.logos,
    )
    started = time.time()
    folder, table = run_dream(args.model, args.out, settings, reference=args.reference,
                              reference_labels=args.reference_labels, fit=args.fit, device=args.device,
                              progress=not args.quiet)
    above = (f"; {int(table['above_reference_p99'].sum())} of {len(table)} above the reference 99th percentile"
             if "above_reference_p99" in table else "")
    motifs = sorted({name for names in table["motifs"] for name in names.split(",") if name})
    found = ", ".join(motifs[:10]) + (f" and {len(motifs) - 10} more" if len(motifs) > 10 else "")
    print(f"dreamed {len(table)} sequences in {time.time() - started:.0f} s: logit "
          f"{table['logit'].min():.3g} to {table['logit'].max():.3g}{above}; motifs found: "
          f"{found or 'none'}; wrote {folder}/ (dream.fa, dream.tsv, motif_hits.tsv, trace.png, "
          "logos/, report.html)", file=sys.stderr)


# --------------------------------------------------------------------------- filters
def _filters(args: argparse.Namespace) -> None:
    from seqsal.filters import FilterSettings, analyze_filters, summarize

    settings = FilterSettings(fraction=args.fraction, min_sites=args.min_sites, q_threshold=args.q_threshold,
                              motif_db=args.motif_db, fit=args.fit, batch_size=args.batch_size,
                              max_logos=args.logos)
    _, table = analyze_filters(args.fasta, args.model, args.out, settings, device=args.device)
    summary = summarize(table)
    motifs = ", ".join(f"{name} ({count})" for name, count in summary["motifs_matched"].items()) or "none"
    print(f"{summary['n_matched']} of {summary['n_filters']} filters match a known motif at q < "
          f"{args.q_threshold:g} ({summary['n_tested']} had at least {args.min_sites} sites): {motifs}; wrote "
          f"{args.out}/ (filters.tsv, filters.meme, filter_logos.png, report.html)", file=sys.stderr)


# --------------------------------------------------------------------------- pitfalls
def _pitfalls(args: argparse.Namespace) -> None:
    import torch
    from seqsal.pitfalls import run_pitfall

    trains = args.pitfall in ("activations", "fully-connected")
    if trains and args.threads is None:
        # Small models on shared cores: torch's thread pool costs more than it gains (see _shortcut).
        torch.set_num_threads(1)
    names = {"fasta": "fasta", "model": "model", "fit_length": "fit", "record_id": "id", "correct": "correct", "n": "n",
             "length": "length", "epochs": "epochs", "seed": "seed", "hidden_units": "hidden",
             "activation": "activation"}
    # Options a pitfall lacks are absent from args; unset ones are None: both leave the library default.
    options = {key: getattr(args, option) for key, option in names.items() if getattr(args, option, None) is not None}
    run = run_pitfall(args.pitfall, args.out, batch_size=args.batch_size, device=args.device,
                      progress=not args.quiet, **options)
    print(run.summary, file=sys.stderr)


def _method_names() -> list[str]:
    from seqsal.attribution import METHODS

    return list(METHODS)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``seqsal`` and all subcommands."""
    parser = argparse.ArgumentParser(
        prog="seqsal",
        description="Explain DNA sequence models: attributions, sequence logos, faithfulness checks.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"seqsal {seqsal.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="<command>", required=True)

    simulate = commands.add_parser(
        "simulate", help="write a synthetic enhancer set with planted motifs and ground-truth masks",
        description="Positives carry 2-4 known enhancer motifs (GATA1, FOS::JUN, ETS1, CREB1, SP1) sampled "
                    "into random background; negatives carry unrelated background motifs or none. Writes "
                    "train/valid/test FASTA, labels.tsv (id, label, split), masks.npz and planted.tsv.")
    simulate.add_argument("--out", required=True, help="output folder (new or empty)")
    simulate.add_argument("--n", type=int, default=20000, help="number of sequences (default 20000)")
    simulate.add_argument("--length", type=int, default=249, help="sequence length in bp (default 249)")
    simulate.add_argument("--positive-fraction", type=float, default=0.5, help="share of positives (default 0.5)")
    simulate.add_argument("--seed", type=_non_negative_int, default=0, help="random seed; same seed, same files (default 0)")
    simulate.set_defaults(func=_simulate)

    train = commands.add_parser(
        "train", help="train the enhancer CNN on labelled FASTA",
        description="Train a DeepSTARR-style CNN with Adam and early stopping on validation loss. Input is "
                    "either --fasta + --labels, or --pos + --neg (a FASTA, or 'shuffle' for "
                    "dinucleotide-shuffled copies of the positives).")
    source = train.add_argument_group("data")
    source.add_argument("--fasta", help="training FASTA (with --labels)")
    source.add_argument("--labels", help="TSV with an 'id' column and one or more target columns")
    source.add_argument("--pos", help="positive FASTA (with --neg)")
    source.add_argument("--neg", help="negative FASTA, or 'shuffle'")
    source.add_argument("--valid-fasta", help="validation FASTA (ids in --labels); default: hold out "
                                              "--valid-fraction of the training data")
    source.add_argument("--valid-fraction", type=float, default=0.1, help="held-out share (default 0.1)")
    source.add_argument("--test-fasta", help="test FASTA (ids in --labels); its metrics go into the model file")
    source.add_argument("--length", type=int, default=None, help="model input length (default: first record's)")
    source.add_argument("--fit", action="store_true", help="centre-crop or N-pad sequences to --length")
    arch = train.add_argument_group("model")
    arch.add_argument("--task", choices=("auto", "classification", "regression"), default="auto",
                      help="auto: classification when every label is 0 or 1 (default)")
    arch.add_argument("--activation", choices=("relu", "exp", "leaky_relu"), default="relu",
                      help="first-layer activation (default relu; exp gives more motif-like filters)")
    arch.add_argument("--head", choices=("flatten", "gap"), default="flatten",
                      help="dense head on flattened features or on global average pooling (default flatten)")
    arch.add_argument("--channels", type=_int_list, default=(256, 60, 60, 120),
                      help="conv channels per block (default 256,60,60,120)")
    arch.add_argument("--kernels", type=_int_list, default=(7, 3, 5, 3),
                      help="conv kernel sizes per block (default 7,3,5,3)")
    arch.add_argument("--dense", type=_int_list, default=(256, 256), help="dense units (default 256,256)")
    arch.add_argument("--dropout", type=float, default=0.4, help="dropout in the head (default 0.4)")
    fitting = train.add_argument_group("fitting")
    fitting.add_argument("--epochs", type=int, default=30, help="maximum epochs (default 30)")
    fitting.add_argument("--patience", type=int, default=4, help="early-stopping patience (default 4)")
    fitting.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    fitting.add_argument("--augment-rc", action="store_true",
                         help="add the reverse complement of every training sequence (motifs work on both strands)")
    fitting.add_argument("--weight-decay", type=float, default=0.0, help="Adam weight decay (default 0)")
    fitting.add_argument("--batch-size", type=_positive_int, default=128, help="batch size (default 128)")
    fitting.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default 0)")
    train.add_argument("--out", required=True, help="model file to write (.pt)")
    _add_device(train)
    train.set_defaults(func=_train)

    predict = commands.add_parser("predict", help="print a TSV of predictions (logits and probabilities)",
                                  description="Stream a FASTA through a model; writes TSV to stdout.")
    predict.add_argument("fasta", help="FASTA/FASTQ, plain or gzipped; '-' reads standard input")
    predict.add_argument("--model", default="default", help="model file, or 'default' for the bundled model")
    predict.add_argument("--fit", action="store_true", help="centre-crop or N-pad to the model's length")
    predict.add_argument("--batch-size", type=_positive_int, default=256, help="sequences per batch (default 256)")
    _add_device(predict)
    predict.set_defaults(func=_predict)

    explain = commands.add_parser(
        "explain", help="attribute predictions to bases; write a bundle with logos and a report",
        description="Writes ohe.npz and attr.<method>.npz (hypothetical scores, readable by "
                    "'modisco motifs -s ohe.npz -a attr.<method>.npz'), scores.tsv, logos of the top "
                    "sequences, report.html and manifest.json.")
    explain.add_argument("fasta", help="FASTA/FASTQ, plain or gzipped")
    explain.add_argument("--model", default="default", help="model file, or 'default' for the bundled model")
    explain.add_argument("--method", default="saliency,grad_x_input",
                         help="comma-separated methods: " + ", ".join(_method_names())
                              + " (default saliency,grad_x_input)")
    explain.add_argument("--out", required=True, help="output folder (new, empty, or an earlier seqsal run)")
    explain.add_argument("--target", default="0", help="output to explain: index or name (default 0)")
    explain.add_argument("--output", choices=("logit", "probability"), default="logit",
                         help="explain the logit (default) or the sigmoid probability (saturates)")
    explain.add_argument("--correct", action="store_true",
                         help="apply the Majdandzic et al. 2023 gradient correction")
    explain.add_argument("--fit", action="store_true", help="centre-crop or N-pad to the model's length")
    explain.add_argument("--logos", type=_non_negative_int, default=10, help="logos for the top-K predictions (default 10)")
    explain.add_argument("--logo-format", choices=("png", "svg", "pdf"), default="png",
                         help="logo file format (default png; pdf gives one multi-page file per method)")
    explain.add_argument("--motifs", type=_name_list, default=None,
                         help="known motifs to box on logos, by TF name or matrix id, e.g. GATA1,CTCF")
    explain.add_argument("--motif-db", default=None, help="MEME or JASPAR file (default: bundled JASPAR 2016)")
    explain.add_argument("--motif-threshold", type=_fraction, default=0.8,
                         help="box a motif where its score reaches this fraction of its maximum (default 0.8)")
    explain.add_argument("--batch-size", type=_positive_int, default=128, help="sequences per batch (default 128)")
    explain.add_argument("--resume", action="store_true",
                         help="continue an interrupted run in --out from its last finished batch")
    explain.add_argument("--first-index", type=_non_negative_int, default=0,
                         help="when FASTA is a shard (seqsal split): the 0-based place of its first record in "
                              "the whole input, so seeded methods draw what a whole-file run would (default 0)")
    options = explain.add_argument_group(
        "method options", "each applies to the methods that have it; unset means the method's default")
    options.add_argument("--steps", type=int, help="integrated_gradients: path steps (default 50)")
    options.add_argument("--baseline", choices=("zeros", "uniform", "shuffle"),
                         help="integrated_gradients: reference (default zeros)")
    options.add_argument("--n-references", type=int,
                         help="integrated_gradients with shuffle, deeplift_shap: shuffled references (default 10)")
    options.add_argument("--n-samples", type=int,
                         help="smoothgrad(_sq): noisy copies (default 25); lime/kernel_shap: samples (default 200)")
    options.add_argument("--sigma", type=float, help="smoothgrad(_sq): noise sd as a fraction of the input "
                                                     "range (default 0.15)")
    options.add_argument("--layer", help="grad_cam: Conv1d layer by index or module name (default: the last)")
    options.add_argument("--window", type=int, help="lime/kernel_shap: bases per feature window (default 10)")
    options.add_argument("--start", type=int, help="ism: first position to mutate (0-based, default 0)")
    options.add_argument("--end", type=int, help="ism: stop before this position (default: the length)")
    options.add_argument("--seed", type=_non_negative_int, help="seed of noise and shuffled references (default 0)")
    _add_device(explain)
    explain.set_defaults(func=_explain)

    logo = commands.add_parser("logo", help="draw logos from an explain bundle",
                               description="Re-draw logos from a finished 'seqsal explain' folder.")
    logo.add_argument("bundle", help="folder written by seqsal explain")
    logo.add_argument("--ids", type=_name_list, default=None, help="comma-separated record ids")
    logo.add_argument("--top", type=_positive_int, default=10, help="without --ids: the N highest predictions (default 10)")
    logo.add_argument("--method", type=_name_list, default=None, help="methods to draw (default: all)")
    logo.add_argument("--format", choices=("png", "svg", "pdf"), default="png",
                      help="png/svg: a file per id; pdf: one multi-page file per method (default png)")
    logo.add_argument("--motifs", type=_name_list, default=None, help="known motifs to box, e.g. GATA1,CTCF")
    logo.add_argument("--motif-db", default=None, help="MEME or JASPAR file (default: bundled JASPAR 2016)")
    logo.add_argument("--motif-threshold", type=_fraction, default=0.8,
                      help="box a motif where its score reaches this fraction of its maximum (default 0.8)")
    logo.set_defaults(func=_logo)

    split = commands.add_parser(
        "split", help="split a FASTA into shards to explain in parallel",
        description="Writes shard_00000.fa, shard_00001.fa, ... of --shard-size records each, in input order, "
                    "and a manifest.json; prints each shard's file, first index and size as a TSV. Explain "
                    "each shard with 'seqsal explain SHARD --first-index I', then 'seqsal merge'.")
    split.add_argument("fasta", help="FASTA/FASTQ, plain or gzipped")
    split.add_argument("--shard-size", type=_positive_int, required=True, help="records per shard")
    split.add_argument("--out", required=True, help="output folder (new, empty, or an earlier seqsal output)")
    split.set_defaults(func=_split)

    merge = commands.add_parser(
        "merge", help="merge explain bundles of consecutive shards into one bundle",
        description="Concatenates the arrays and score tables of explain bundles in the order given and "
                    "draws logos and a report as 'seqsal explain' would; the manifest lists every shard with "
                    "its hashes. The shards must share model and options.")
    merge.add_argument("bundles", nargs="+", help="explain bundles, first shard first")
    merge.add_argument("--out", required=True, help="output folder (new, empty, or an earlier seqsal output)")
    merge.add_argument("--logos", type=_non_negative_int, default=10,
                       help="logos for the top-K predictions (default 10)")
    merge.add_argument("--logo-format", choices=("png", "svg", "pdf"), default="png",
                       help="logo file format (default png)")
    merge.add_argument("--motifs", type=_name_list, default=None, help="known motifs to box, e.g. GATA1,CTCF")
    merge.add_argument("--motif-db", default=None, help="MEME or JASPAR file (default: bundled JASPAR 2016)")
    merge.add_argument("--motif-threshold", type=_fraction, default=0.8,
                       help="box a motif where its score reaches this fraction of its maximum (default 0.8)")
    merge.set_defaults(func=_merge)

    audit = commands.add_parser(
        "audit", help="audit a labelled dataset for shortcuts (adapters, k-mers, composition, leakage)",
        description="Checks positives against negatives for shortcuts a model could learn instead of biology: "
                    "adapters and homopolymers, enriched k-mers without a known motif, GC/length/N/soft-mask "
                    "differences, duplicates across classes and splits, and trivial baselines; with --model, "
                    "how much the model relies on flagged artifacts. Writes summary.json, report.html and a "
                    "TSV per check. Exit status 0, or 1 with --fail-on-flag when anything is flagged.")
    audit.add_argument("--pos", required=True, help="positive FASTA (plain or gzipped)")
    audit.add_argument("--neg", required=True, help="negative FASTA (plain or gzipped)")
    audit.add_argument("--splits", default=None, help="TSV with 'id' and 'split' columns covering every record")
    audit.add_argument("--model", default=None, help="trained seqsal model file ('default' = bundled model)")
    audit.add_argument("--motif-db", default=None, help="MEME or JASPAR file (default: bundled JASPAR 2016)")
    audit.add_argument("--adapters", default=None, help="FASTA of adapters (default: bundled Illumina/Nextera)")
    audit.add_argument("--out", required=True, help="output folder (new, empty, or an earlier seqsal run)")
    audit.add_argument("--fail-on-flag", action="store_true", help="exit with status 1 when anything is flagged")
    limits = audit.add_argument_group("flag thresholds (see AuditThresholds in seqsal/audit.py for the reasons)")
    limits.add_argument("--fdr", type=float, default=0.01, help="largest q value that counts (default 0.01)")
    limits.add_argument("--adapter-ratio", type=float, default=2.0,
                        help="per-class rate ratio of adapter/homopolymer hits (default 2)")
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
    how = audit.add_argument_group("computation")
    how.add_argument("--k", type=_int_list, default=(4, 5, 6, 7, 8), help="k-mer lengths (default 4,5,6,7,8)")
    how.add_argument("--baseline-max", type=int, default=20000,
                     help="records per class for the baselines (default 20000)")
    how.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    how.add_argument("--model-max", type=int, default=1000,
                     help="with --model: artifact-carrying records explained at most (default 1000)")
    how.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default 0)")
    _add_device(audit)
    audit.set_defaults(func=_audit)

    evaluate = commands.add_parser(
        "evaluate", help="score an explain bundle for faithfulness and plausibility",
        description="Deletion/insertion curves against a random ranking, plausibility AUROC against "
                    "ground-truth masks (--masks from seqsal simulate, or --motifs scanned in the sequences), "
                    "the model-randomization sanity check and max-sensitivity, for every method of the bundle.")
    evaluate.add_argument("bundle", help="folder written by seqsal explain")
    evaluate.add_argument("--out", required=True, help="output folder (new, empty, or an earlier seqsal run)")
    evaluate.add_argument("--model", default=None, help="the explained model (default: the bundle's)")
    evaluate.add_argument("--checks", type=_name_list, default=("deletion", "plausibility", "randomization",
                                                                 "stability"),
                          help="comma-separated: deletion, plausibility, randomization, stability (default all)")
    evaluate.add_argument("--masks", default=None, help="masks.npz from seqsal simulate (ground truth by id)")
    evaluate.add_argument("--motifs", type=_name_list, default=(),
                          help="without --masks: known motifs whose scan hits are the ground truth, e.g. GATA1,CTCF")
    evaluate.add_argument("--motif-db", default=None, help="MEME or JASPAR file (default: bundled JASPAR 2016)")
    evaluate.add_argument("--max-sequences", type=_positive_int, default=200,
                          help="evaluate the N highest predictions (default 200)")
    evaluate.add_argument("--replacement", choices=("shuffle", "random", "uniform"), default="shuffle",
                          help="what replaces deleted bases (default: a dinucleotide-shuffled copy)")
    evaluate.add_argument("--steps", type=int, default=20, help="points on each deletion curve (default 20)")
    evaluate.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default 0)")
    evaluate.add_argument("--batch-size", type=_positive_int, default=128, help="sequences per batch (default 128)")
    _add_device(evaluate)
    evaluate.set_defaults(func=_evaluate)

    shortcut = commands.add_parser(
        "shortcut", help="plant a sequencing adapter in training data: faithful vs plausible explanations",
        description="Simulates enhancers with known motifs, plants an adapter into a share of the positive "
                    "training sequences (never over a motif), trains one small model per share, measures how "
                    "much each relies on the adapter (AUROC on clean and contaminated test sets, counterfactual "
                    "flip rates) and scores attribution methods on contaminated positives: share on the adapter, "
                    "plausibility AUROC against the motif mask, deletion/insertion AUCs. Writes shortcut.tsv, "
                    "reliance.tsv, adapter_motifs.tsv, tradeoff.png, rates.png, logos/, models/, report.html and "
                    "manifest.json; finished rates are kept if the run is interrupted. Torch runs on one thread "
                    "unless --threads is given: the models are tiny, and a thread pool on shared cores slows them "
                    "down.")
    shortcut.add_argument("--out", required=True, help="output folder (new, empty, or an earlier seqsal run)")
    shortcut.add_argument("--quick", action="store_true",
                          help="small preset (3000 x 150 bp, rates 0,1, 4 epochs, cheap methods; about 30 s); "
                               "the options below override it")
    shortcut.add_argument("--n", type=int, default=None, help="simulated sequences (default 20000)")
    shortcut.add_argument("--length", type=int, default=None, help="sequence length in bp (default 200)")
    shortcut.add_argument("--adapter", default=None,
                          help="adapter record id (default illumina_universal_truseq_r1)")
    shortcut.add_argument("--adapter-length", type=int, default=None,
                          help="plant only this prefix of the adapter (default: all of it, 33 nt for TruSeq)")
    shortcut.add_argument("--adapter-file", default=None, help="FASTA of adapters (default: bundled list)")
    shortcut.add_argument("--placement", choices=("random", "3prime"), default=None,
                          help="anywhere clear of motifs, or the last bases as read-through (default random)")
    shortcut.add_argument("--rates", default=None,
                          help="contamination rates: shares of positive training sequences (default 0,0.1,0.5,1)")
    shortcut.add_argument("--methods", type=_name_list, default=None,
                          help="attribution methods, '<method>_corrected' for the gradient correction, and "
                               "motif_prior (default saliency,grad_x_input,grad_x_input_corrected,"
                               "integrated_gradients,smoothgrad,ism,motif_prior)")
    shortcut.add_argument("--epochs", type=int, default=None, help="training epochs at most (default 8)")
    shortcut.add_argument("--n-eval", type=int, default=None,
                          help="contaminated test positives the methods are scored on (default 200)")
    shortcut.add_argument("--seed", type=_non_negative_int, default=None, help="random seed (default 0)")
    shortcut.add_argument("--batch-size", type=_positive_int, default=256, help="sequences per batch (default 256)")
    _add_device(shortcut)
    shortcut.set_defaults(func=_shortcut)

    dream = commands.add_parser(
        "dream", help="optimise sequences that maximise a model output; name the motifs they contain",
        description="Class model visualisation (Simonyan et al. 2014): from --n-seeds random starts, Adam "
                    "maximises the target logit minus --l2 times the squared norm of free per-base logits, "
                    "keeping every input one-hot (straight-through estimator) or softmax-relaxed. Keeps the "
                    "best one-hot iterate per seed, scans it for known motifs and, with --reference, ranks its "
                    "score among real sequences. Writes dream.fa, dream.tsv, motif_hits.tsv, trace.png, "
                    "logos/, report.html and manifest.json. Torch runs on one thread unless --threads is "
                    "given: the batch is small, and a thread pool on shared cores slows it down.")
    dream.add_argument("--model", default="default", help="model file, or 'default' for the bundled model")
    dream.add_argument("--out", required=True, help="output folder (new, empty, or an earlier seqsal run)")
    dream.add_argument("--target", default="0", help="output to maximise: index or name (default 0)")
    optimisation = dream.add_argument_group("optimisation")
    optimisation.add_argument("--n-seeds", type=_positive_int, default=8,
                              help="independent random starts, optimised in one batch (default 8)")
    optimisation.add_argument("--steps", type=_positive_int, default=200, help="Adam steps (default 200)")
    optimisation.add_argument("--learning-rate", type=float, default=0.1, help="Adam learning rate (default 0.1)")
    optimisation.add_argument("--l2", type=float, default=None,
                              help="weight of the L2 penalty on the per-base logits; 0 = none (default 0.01 with "
                                   "straight_through, 0.001 with softmax, which needs room to become one-hot)")
    optimisation.add_argument("--mode", choices=("straight_through", "softmax"), default="straight_through",
                              help="straight_through: the model sees one-hot argmax sequences, softmax gradients "
                                   "flow back (default); softmax: the model sees the softmax relaxation")
    optimisation.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (default 1)")
    optimisation.add_argument("--seed", type=_non_negative_int, default=0,
                              help="seed of the random starts; same seed, same sequences (default 0)")
    comparison = dream.add_argument_group("reference and motifs")
    comparison.add_argument("--reference", default=None,
                            help="FASTA of real sequences (e.g. training positives) to rank the dreamed scores among")
    comparison.add_argument("--reference-labels", default=None,
                            help="labels TSV for --reference: keep only records labelled 1 for the target")
    comparison.add_argument("--fit", action="store_true",
                            help="centre-crop or N-pad reference records to the model's length")
    comparison.add_argument("--motifs", type=_name_list, default=None,
                            help="motifs to scan for, by TF name or matrix id, or 'all' for the whole database "
                                 "(default GATA1,FOS::JUN,ETS1,CREB1,SP1: the simulated enhancer motifs)")
    comparison.add_argument("--motif-db", default=None, help="MEME or JASPAR file (default: bundled JASPAR 2016)")
    comparison.add_argument("--motif-threshold", type=_fraction, default=0.8,
                            help="a hit scores at least this fraction of the motif's maximum (default 0.8)")
    comparison.add_argument("--logos", type=_non_negative_int, default=4,
                            help="grad x input logos of the K best sequences, motif hits boxed (default 4; "
                                 "about 3 s each at 249 bp)")
    _add_device(dream)
    dream.set_defaults(func=_dream)

    filters = commands.add_parser(
        "filters", help="read first-layer filters as motifs and match them to a motif database",
        description="For each first-layer filter, align the windows whose activation (conv, batch norm, "
                    "activation; before pooling) reaches --fraction of the filter's maximum over the FASTA, "
                    "build a position frequency matrix, draw it as an information-content logo and compare it "
                    "with a motif database by Tomtom (memelite; pip install 'seqsal[motifs]'). Writes "
                    "filters.tsv (best match, p- and q-value per filter), filters.meme, filter_logos.png, "
                    "report.html and manifest.json.")
    filters.add_argument("--fasta", required=True, help="FASTA/FASTQ, plain or gzipped (e.g. training positives)")
    filters.add_argument("--model", default="default", help="model file, or 'default' for the bundled model")
    filters.add_argument("--out", required=True, help="output folder (new, empty, or an earlier seqsal output)")
    filters.add_argument("--fraction", type=_fraction, default=0.5,
                         help="a window is a site when its activation reaches this fraction of the filter's "
                              "maximum (default 0.5)")
    filters.add_argument("--min-sites", type=_positive_int, default=10,
                         help="filters with fewer sites are listed but not matched (default 10)")
    filters.add_argument("--motif-db", default=None, help="MEME or JASPAR file (default: bundled JASPAR 2016)")
    filters.add_argument("--q-threshold", type=_fraction, default=0.05,
                         help="a filter matches when its best q-value (Benjamini-Hochberg over its comparisons "
                              "with the database) is below this (default 0.05)")
    filters.add_argument("--logos", type=_positive_int, default=48,
                         help="filter logos drawn in filter_logos.png: matched filters first, then the most "
                              "informative (default 48; every filter is in filters.tsv and filters.meme)")
    filters.add_argument("--fit", action="store_true", help="centre-crop or N-pad to the model's length")
    filters.add_argument("--batch-size", type=_positive_int, default=256, help="sequences per batch (default 256)")
    _add_device(filters)
    filters.set_defaults(func=_filters)

    pitfalls = commands.add_parser(
        "pitfalls", help="four figures on where gradient explanations mislead",
        description="Reproducible demonstrations of gradient pitfalls, one command each: saturation (probability "
                    "vs logit maps), activations (first-layer ReLU / leaky ReLU / exponential), off-simplex "
                    "(gradient angle to the one-hot simplex, before and after correction) and fully-connected "
                    "(a dense baseline next to a CNN). Each writes <pitfall>.png, <pitfall>.tsv (metric, "
                    "condition, value) and manifest.json, and prints a one-line summary.")
    which = pitfalls.add_subparsers(dest="pitfall", metavar="<pitfall>", required=True)
    pitfall_parsers = {
        "saturation": which.add_parser(
            "saturation", help="explain the most confident sequence against its logit and its probability",
            description="grad x input of the highest-logit sequence of a FASTA, once for the logit and once for "
                        "the probability; the probability map is the logit map times sigmoid'(logit), which "
                        "vanishes for confident predictions. Reports both maps' L1/L2 norms and their ratio."),
        "activations": which.add_parser(
            "activations", help="train ReLU, leaky ReLU and exponential first-layer CNNs; compare their maps",
            description="Simulates enhancers with planted motifs, trains one small CNN per first-layer activation "
                        "with a shared seed (same data, same initial weights) and scores corrected grad x input "
                        "on the test positives: plausibility AUROC against the motif masks and background share "
                        "(share of |attribution| outside the motifs; lower is cleaner). Torch runs on one thread "
                        "unless --threads is given. About 1.5 min on two CPU cores with the defaults."),
        "off-simplex": which.add_parser(
            "off-simplex", help="angle of each position's gradient to the one-hot simplex, raw and corrected",
            description="sin(angle) = |sum of the 4 gradient entries| / (2 |gradient|) at every position of "
                        "every sequence; the Majdandzic et al. (2023) correction makes it 0. Histogram in "
                        "degrees, with the distribution of random directions as a reference."),
        "fully-connected": which.add_parser(
            "fully-connected", help="a fully connected model next to a CNN on the same simulated data",
            description="Trains the small CNN and a fully connected network (flattened one-hot -> dense layers) "
                        "on the same simulated set with the same seed; compares test AUROC, plausibility AUROC, "
                        "background share and the maps of the same test positives. Torch runs on one thread "
                        "unless --threads is given. About 1 min on two CPU cores with the defaults."),
    }
    for sub in pitfall_parsers.values():
        sub.add_argument("--out", required=True, help="output folder (new, empty, or an earlier seqsal output)")
    for name in ("saturation", "off-simplex"):
        sub = pitfall_parsers[name]
        sub.add_argument("--fasta", default=None,
                         help="sequences to explain (default: data/synthetic_demo/test.fa, 30 x 249 bp)")
        sub.add_argument("--model", default=None, help="model file, or 'default' for the bundled model (default)")
        sub.add_argument("--fit", action="store_true", help="centre-crop or N-pad to the model's length")
    pitfall_parsers["saturation"].add_argument("--id", default=None,
                                               help="explain this record instead of the highest-logit one")
    pitfall_parsers["saturation"].add_argument("--correct", action="store_true",
                                               help="apply the gradient correction to both maps")
    for name in ("activations", "fully-connected"):
        sub = pitfall_parsers[name]
        sub.add_argument("--n", type=_positive_int, default=None, help="simulated sequences (default 10000)")
        sub.add_argument("--length", type=_positive_int, default=None, help="sequence length in bp (default 150)")
        sub.add_argument("--epochs", type=_positive_int, default=None,
                         help="training epochs at most, early stopping with patience 3 (default 12)")
        sub.add_argument("--seed", type=_non_negative_int, default=None,
                         help="seed of the simulation, initial weights and batch order (default 0)")
    pitfall_parsers["fully-connected"].add_argument("--hidden", type=_int_list, default=None,
                                                    help="hidden layer widths of the fully connected model "
                                                         "(default 128,64; empty for logistic regression)")
    pitfall_parsers["fully-connected"].add_argument("--activation", choices=("relu", "exp", "leaky_relu"),
                                                    default=None,
                                                    help="first-layer activation of the CNN (default exp)")
    for sub in pitfall_parsers.values():
        sub.add_argument("--batch-size", type=_positive_int, default=128,
                         help="sequences per attribution batch (default 128)")
        _add_device(sub)
    pitfalls.set_defaults(func=_pitfalls)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (2 for user errors, 130 when interrupted)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if getattr(args, "threads", None):
            import torch

            torch.set_num_threads(args.threads)
        status = args.func(args)
    except SeqsalError as error:
        print(f"seqsal {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = "; continue with --resume" if args.command == "explain" else ""
        print(f"seqsal {args.command}: interrupted; finished files are kept, unfinished ones were not "
              f"written{hint}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
