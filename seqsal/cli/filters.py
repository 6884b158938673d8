"""``seqsal filters``: parse its options and call the library."""

from __future__ import annotations

import argparse
import sys

from seqsal.cli import options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal filters`` and its options."""
    parser = commands.add_parser(
        "filters", help="read first-layer filters as motifs and match them to a motif database",
        description="For each first-layer filter, align the windows whose activation (conv, batch norm, "
                    "activation; before pooling) reaches --fraction of the filter's maximum over the FASTA, "
                    "build a position frequency matrix, draw it as an information-content logo and compare it "
                    "with a motif database by Tomtom (memelite; pip install 'seqsal[motifs]'). Writes "
                    "filters.tsv (best match, p- and q-value per filter), filters.meme, filter_logos.png, "
                    "report.html and manifest.json.")
    parser.add_argument("--fasta", required=True, help="FASTA/FASTQ, plain or gzipped (e.g. training positives)")
    options.add_model(parser)
    options.add_output(parser)
    parser.add_argument("--fraction", type=options.fraction, default=0.5,
                         help="a window is a site when its activation reaches this fraction of the filter's "
                              "maximum (default 0.5)")
    parser.add_argument("--min-sites", type=options.positive_int, default=10,
                         help="filters with fewer sites are listed but not matched (default 10)")
    parser.add_argument("--motif-db", default=None, help="MEME or JASPAR file (default: bundled JASPAR 2016)")
    parser.add_argument("--q-threshold", type=options.fraction, default=0.05,
                         help="a filter matches when its best q-value (Benjamini-Hochberg over its comparisons "
                              "with the database) is below this (default 0.05)")
    parser.add_argument("--logos", type=options.positive_int, default=48,
                         help="filter logos drawn in filter_logos.png: matched filters first, then the most "
                              "informative (default 48; every filter is in filters.tsv and filters.meme)")
    parser.add_argument("--layer", default=None, metavar="NAME",
                         help="the convolution to read, by qualified module name (e.g. blocks.0.0 or stem); it must "
                              "read the input (default: the first Conv1d that does)")
    parser.add_argument("--fit", action="store_true", help="centre-crop or N-pad to the model's length")
    parser.add_argument("--batch-size", type=options.positive_int, default=256, help="sequences per batch (default 256)")
    options.add_device(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> None:
    from seqsal.views.filters import FilterSettings, analyze_filters, summarize

    settings = FilterSettings(fraction=args.fraction, min_sites=args.min_sites, q_threshold=args.q_threshold,
                              motif_db=args.motif_db, fit=args.fit, batch_size=args.batch_size,
                              max_logos=args.logos, layer=args.layer)
    _, table = analyze_filters(args.fasta, options.model_from_args(args), args.out, settings, device=args.device, force=args.force)
    summary = summarize(table)
    motifs = ", ".join(f"{name} ({count})" for name, count in summary["motifs_matched"].items()) or "none"
    print(f"{summary['n_matched']} of {summary['n_filters']} filters match a known motif at q < "
          f"{args.q_threshold:g} ({summary['n_tested']} had at least {args.min_sites} sites): {motifs}; wrote "
          f"{args.out}/ (filters.tsv, filters.meme, filter_logos.png, report.html)", file=sys.stderr)
