"""``python -m sim.readme``: regenerate README.md's measured blocks from reports in build/.

Each block sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``
markers and is rewritten from one report file, so no figure in the README is
typed by hand. A block whose report is missing is left as it is (and named on
stderr).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path


def json_block(relative: str):
    """A block holding one JSON report from ``build/``, on one line."""
    def render(build: Path) -> str | None:
        path = build / relative
        if not path.exists():
            return None
        return "```json\n" + json.dumps(json.loads(path.read_text())) + "\n```"
    return render


def validate_table(relative: str):
    """A table of ``sim.validate`` summaries found under ``build/<relative>/*/``
    (float models add the adder latency L and the largest difference to float64)."""
    def render(build: Path) -> str | None:
        paths = sorted((build / relative).glob("*/summary.json"))
        if not paths:
            return None
        runs = [json.loads(path.read_text()) for path in paths]
        floats = any(d.get("activation") == "float" for d in runs)
        head = "| model | simulator | R |" + (" L |" if floats else "") + (
            " images | bit-exact | hw accuracy | sw accuracy | cycles / batch | cycles / ideal "
            "| compute cycles/s | sim s |") + (" max diff vs float64 |" if floats else "")
        rows = [head, "| --- | --- | ---: |" + (" ---: |" if floats else "")
                + " ---: |" * 8 + (" ---: |" if floats else "")]
        for d in sorted(runs, key=lambda d: (d["simulator"], d["reuse"], d.get("add_latency", 0))):
            rows.append(
                f"| `{Path(d['model']).name}` | {d['simulator']} | {d['reuse']} |"
                + (f" {d.get('add_latency', '-')} |" if floats else "")
                + f" {d['images']} | {d['bit_exact']} / {d['images']} "
                f"| {d.get('hw_accuracy', float('nan')):.4f} | {d.get('sw_accuracy', float('nan')):.4f} "
                f"| {d['cycles'] // d['batches']:,} | {d['cycles_ratio']:.4f} "
                f"| {d['compute_cycles_per_second']:,} | {d['sim_seconds']:.1f} |"
                + (f" {d['max_abs_diff_vs_float64']:.2g} |" if floats else ""))
        return "\n".join(rows)
    return render


def training_tables(build: Path) -> str | None:
    """The accuracy and storage tables of the two Fashion-MNIST MLP reports."""
    from sw.report_table import render
    paths = [build / "models" / f"fmnist-mlp-{kind}.json" for kind in ("binary", "float")]
    if not all(p.exists() for p in paths):
        return None
    return render([json.loads(p.read_text()) for p in paths]).strip()


def bench_table(build: Path) -> str | None:
    """The at-a-glance table of the last ``make bench`` (build/bench/report.json)."""
    from .bench import glance_table
    path = build / "bench" / "report.json"
    if not path.exists():
        return None
    report = json.loads(path.read_text())
    commit = (report["git"]["commit"] or "unknown")[:12]
    dirty = " + uncommitted changes" if report["git"]["dirty"] else ""
    return (glance_table(report) + f"\n\nMeasured by `make bench` on commit `{commit}`{dirty}, "
            f"{report['date']}; phases (s): "
            + ", ".join(f"{k} {v:.0f}" for k, v in report["phases"].items())
            + ". Full report: `build/bench/REPORT.md`.")


def methods_table(build: Path) -> str | None:
    """The ternarisation methods compared (``make methods``: build/methods/report.json)."""
    from .methods import render_table
    path = build / "methods" / "report.json"
    if not path.exists():
        return None
    report = json.loads(path.read_text())
    return (render_table(report["entries"]) + f"\n\nMeasured by `make methods`, {report['date']}; "
            f"RTL: the first {report['settings']['images']:,} test images (float networks: "
            f"{report['settings'].get('float_images', report['settings']['images']):,}), "
            f"R = {report['settings']['reuse']}, {report['settings']['simulator']}.")


def roofline_table(build: Path) -> str | None:
    """Measured synthesis costs next to the paper's constants."""
    from hw.roofline import load_summary, render_markdown
    summary = load_summary(build / "synth" / "summary.json")
    return render_markdown(summary).strip() if summary else None


BLOCKS = {
    "sim-summary": json_block("sim/summary.json"),
    "decompressor-summary": json_block("sim-decompressor/summary.json"),
    "validate-binary": validate_table("validate-binary"),
    "validate-float": validate_table("validate-float"),
    "bench": bench_table,
    "methods": methods_table,
    "training": training_tables,
    "roofline": roofline_table,
}


def replace_block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n)(?:.*?\n)?(<!-- {name}:end -->)", re.DOTALL)
    if not pattern.search(text):
        raise KeyError(f"README.md has no block '{name}'")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def main(argv=None) -> int:
    readme, build = Path("README.md"), Path("build")
    text = readme.read_text()
    for name, render in BLOCKS.items():
        body = render(build)
        if body is None:
            print(f"readme: no report for block '{name}'; left as is", file=sys.stderr)
            continue
        text = replace_block(text, name, body)
    readme.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
