"""Markdown tables from training reports (``build/models/*.json``), so no figure is typed by hand.

    python -m report.training_tables build/models/*.json [-o results.md]

Two tables, one row per report: accuracy (each stage, both baselines) with
sparsity and training time; and weight storage in the style of paper 002's
Fig. 3 / Fig. 5 (dense 1-bit and 2-bit against RLE and Huffman, exact bits
converted to kB = 1000 bytes). Exit code 2 on a missing or unreadable report,
before anything is written.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cost.inputs import read_json
from sw.errors import ArgumentParser, InputError, run_cli
from sw.files import write_text

__all__ = ["accuracy_table", "size_table", "render", "main"]


def _pct(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}"


def _kb(bits: int) -> str:
    return f"{bits / 8000:,.1f}"


def _acc(report: dict, key: str) -> float | None:
    b = report.get("baselines", {}).get(key)
    return None if b is None else b["test_acc"]


def accuracy_table(reports: list[dict]) -> str:
    rows = [
        "| config | activations | weights | zeros (%) | stage 1 (%) | pruned (%) | retrained (%) "
        "| dense binary (%) | dense float (%) | TNN − dense binary | train time (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in reports:
        st = r["stages"]
        prunes = [k for k in st if k.startswith("prune")]
        pruned = st[prunes[-1]]["test_acc"] if prunes else None
        db = _acc(r, "dense_binary")
        delta = "–" if db is None else f"{100 * (r['final']['test_acc'] - db):+.2f} pt"
        rows.append(
            f"| {r['name']} | {r['config']['activation']} | {r['totals']['n_weights']:,} "
            f"| {_pct(r['final']['zero_fraction'], 1)} | {_pct(st['train']['test_acc'])} "
            f"| {_pct(pruned)} | {_pct(r['final']['test_acc'])} | {_pct(db)} "
            f"| {_pct(_acc(r, 'dense_float'))} | {delta} | {r['timing']['train_seconds']:.0f} |")
    return "\n".join(rows)


def size_table(reports: list[dict]) -> str:
    rows = [
        "| config | nonzeros | dense 1-bit (kB) | dense 2-bit (kB) | RLE (kB) | Huffman (kB) "
        "| RLE vs 1-bit | Huffman vs 1-bit | RLE vs 2-bit | Huffman vs 2-bit |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in reports:
        t = r["totals"]
        rows.append(
            f"| {r['name']} | {t['nonzeros']:,} | {_kb(t['dense_1bit_bits'])} "
            f"| {_kb(t['dense_2bit_bits'])} | {_kb(t['rle_bits'])} | {_kb(t['huffman_bits'])} "
            f"| {t['rle_vs_1bit']:.2f}× | {t['huffman_vs_1bit']:.2f}× "
            f"| {t['rle_vs_2bit']:.2f}× | {t['huffman_vs_2bit']:.2f}× |")
    return "\n".join(rows)


def render(reports: list[dict]) -> str:
    """Both tables with a short legend, as one markdown string."""
    return (
        "Test accuracy after each stage (train with threshold + L2, quantisation pruning, "
        "retraining) against the same network trained dense (binary weights, eta = 0, no "
        "pruning; float weights), with equal epochs.\n\n"
        + accuracy_table(reports)
        + "\n\nWeight storage. Dense: every weight in 1 or 2 bits. RLE: sw/rle.py at the best "
        "run-field width per layer. Huffman: run lengths plus end-of-row symbols, one sign bit "
        "per nonzero, code table included. kB = 1000 bytes; ratios are dense size / encoded size.\n\n"
        + size_table(reports) + "\n")


def read_reports(paths: list[Path], field: str = "reports") -> list[dict]:
    """Training reports; InputError naming ``field`` for a missing, unreadable or
    malformed one."""
    reports = []
    for path in paths:
        report = read_json(path, field)
        if not isinstance(report, dict) or not {"stages", "totals", "final"} <= report.keys():
            raise InputError(f"{field}: {path} is not a training report")
        reports.append(report)
    return reports


def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(prog="python -m report.training_tables",
                       description=__doc__.split("\n")[0])
    p.add_argument("reports", nargs="+", type=Path, help="report JSON files")
    p.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    args = p.parse_args(argv)

    def body() -> int:
        text = render(read_reports(args.reports))
        if args.output:
            write_text(args.output, text)
        else:
            sys.stdout.write(text)
        return 0

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
