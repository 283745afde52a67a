"""``python -m report.readme``: regenerate README.md's measured blocks from reports in build/.

Each block sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``
markers and is rewritten from one report file, so no figure in the README is
typed by hand. A block whose report is missing is left as it is (and named on
stderr). A report that exists but cannot be read, or a README without one of
the blocks, is an error (exit code 2): README.md is then not written.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from cost.inputs import read_json
from sw.errors import ArgumentParser, InputError, run_cli
from sw.files import write_text

__all__ = ["BLOCKS", "replace_block", "render_blocks", "main"]


def json_block(relative: str):
    """A block holding one JSON report from ``build/``, on one line."""
    def render(build: Path) -> str | None:
        path = build / relative
        if not path.exists():
            return None
        return "```json\n" + json.dumps(read_json(path, "build")) + "\n```"
    return render


def markdown_block(relative: str):
    """A block holding one Markdown report from ``build/`` as it is."""
    def render(build: Path) -> str | None:
        path = build / relative
        return path.read_text(encoding="utf-8").strip() if path.exists() else None
    return render


def _slot_use(d: dict) -> str:
    """Dense MACs done per MAC slot and cycle: the dense network's MACs of a batch
    of B images (every weight, zero or not, times the output pixels it serves; a
    layer-0 pixel counts one MAC) over R x K slots times the batch's cycles; -
    when the model file is gone."""
    from sw.conv_shapes import layer_shapes
    from sw.model_file import load_model
    if not Path(d["model"]).exists():
        return "-"
    model = load_model(d["model"])
    dense = sum(w.size * s.out_pixels for w, s in zip(model.weights, layer_shapes(model)))
    slots = d["reuse"] * d.get("lanes", 1) * (d["cycles"] / d["batches"])
    return f"{dense * d.get('batch', d['reuse']) / slots:.2f}"


def _reuse_cell(d: dict) -> str:
    """R, or ``R = B x P`` for a run with pixel groups."""
    p = d.get("pixels", 1)
    return str(d["reuse"]) if p == 1 else f"{d['reuse']} = {d['reuse'] // p} x {p}"


def _validate_row(d: dict, floats: bool) -> str:
    return (f"| `{Path(d['model']).name}` | {d['simulator']} | {_reuse_cell(d)} |"
            + (f" {d.get('add_latency', '-')} |" if floats else f" {d.get('lanes', 1)} |")
            + f" {d['images']} | {d['bit_exact']} / {d['images']} "
            f"| {d.get('hw_accuracy', float('nan')):.4f} | {d.get('sw_accuracy', float('nan')):.4f} "
            f"| {d['cycles'] // d['batches']:,} | {d['cycles_ratio']:.4f} "
            f"| {_slot_use(d)} "
            f"| {d['compute_cycles_per_second']:,} | {d['sim_seconds']:.1f} |"
            + (f" {d['max_abs_diff_vs_float64']:.2g} |" if floats else ""))


def validate_table(relative: str, pattern: str = "*/summary.json"):
    """A table of the ``sim.validate`` summaries ``build/<relative>/<pattern>`` (a glob;
    binary models add the lanes K, float models the adder latency L and the largest
    difference to float64)."""
    def render(build: Path) -> str | None:
        paths = sorted((build / relative).glob(pattern))
        if not paths:
            return None
        runs = [read_json(path, "build") for path in paths]
        floats = any(d.get("activation") == "float" for d in runs)
        head = "| model | simulator | R |" + (" L |" if floats else " K |") + (
            " images | bit-exact | hw accuracy | sw accuracy | cycles / batch | cycles / ideal "
            "| dense MACs per MAC slot | compute cycles/s | sim s |") + (" max diff vs float64 |" if floats else "")
        rows = [head, "| --- | --- | ---: | ---: |" + " ---: |" * 9 + (" ---: |" if floats else "")]
        for d in sorted(runs, key=lambda d: (d["simulator"], d["reuse"], d.get("lanes", 1),
                                             d.get("add_latency", 0))):
            rows.append(_validate_row(d, floats))
        return "\n".join(rows)
    return render


def training_tables(kind: str):
    """The accuracy and storage tables of the two Fashion-MNIST ``kind`` networks' training
    reports (``build/models/fmnist-<kind>-{binary,float}.json``); None unless both exist."""
    def render(build: Path) -> str | None:
        from .training_tables import read_reports, render
        paths = [build / "models" / f"fmnist-{kind}-{act}.json" for act in ("binary", "float")]
        if not all(p.exists() for p in paths):
            return None
        return render(read_reports(paths, "build")).strip()
    return render


def bench_table(relative: str):
    """The at-a-glance table of a bench run (``build/<relative>/report.json``)."""
    def render(build: Path) -> str | None:
        from .bench_markdown import glance_table
        path = build / relative / "report.json"
        if not path.exists():
            return None
        report = read_json(path, "build")
        commit = (report["git"]["commit"] or "unknown")[:12]
        dirty = " + uncommitted changes" if report["git"]["dirty"] else ""
        images = report["settings"]["images"]
        return (glance_table(report) + f"\n\nMeasured by `make bench` on commit `{commit}`{dirty}, "
                f"{report['date']}; "
                + (f"the first {images:,} test images; " if images else "")
                + ("" if report["settings"].get("synthesis", True)
                   else "synthesis skipped (`--no-synth`); ")
                + "phases (s): "
                + ", ".join(f"{k} {v:.0f}" for k, v in report["phases"].items())
                + f". Full report: `build/{relative}/REPORT.md`.")
    return render


def methods_table(build: Path) -> str | None:
    """The ternarisation methods compared (``make methods``: build/methods/report.json)."""
    from .methods_table import render_table
    path = build / "methods" / "report.json"
    if not path.exists():
        return None
    report = read_json(path, "build")
    settings = report["settings"]
    return (render_table(report["entries"]) + f"\n\nMeasured by `make methods`, {report['date']}; "
            f"RTL: the first {settings['images']:,} test images (float networks: "
            f"{settings.get('float_images', settings['images']):,}), "
            f"R = {settings['reuse']}, {settings['simulator']}.")


def roofline_table(build: Path) -> str | None:
    """Measured synthesis costs next to the paper's constants."""
    from cost.markdown import render_markdown
    from cost.summary import load_summary
    path = build / "synth" / "summary.json"
    return render_markdown(load_summary(path, "build")).strip() if path.exists() else None


def cnn_engines_table(build: Path) -> str | None:
    """The binary engines the CNN bench synthesised for its model (at P = 1 and with
    pixel groups), from ``build/bench-cnn/synth-summary.json``."""
    from cost.markdown import block_table
    from cost.summary import load_summary
    path = build / "bench-cnn" / "synth-summary.json"
    return "\n".join(block_table(load_summary(path, "build"), "engine_")) if path.exists() else None


BLOCKS = {
    "sim-summary": json_block("sim/summary.json"),
    "decompressor-summary": json_block("sim-decompressor/summary.json"),
    "validate-binary": validate_table("validate-binary"),
    "validate-float": validate_table("validate-float"),
    "validate-cnn-binary": validate_table("bench-cnn", "fmnist-cnn-binary-validate.json"),
    "validate-cnn-float": validate_table("bench-cnn", "fmnist-cnn-float-validate.json"),
    "bench": bench_table("bench"),
    "bench-cnn": bench_table("bench-cnn"),
    "synth-cnn": cnn_engines_table,
    "methods": methods_table,
    "training": training_tables("mlp"),
    "training-cnn": training_tables("cnn"),
    "roofline": roofline_table,
    "float-floor": markdown_block("float-floor/floor.md"),
    "interop-tfc": json_block("interop-tfc/report.json"),
}


def replace_block(text: str, name: str, body: str) -> str:
    """``text`` with block ``name``'s lines replaced by ``body``; InputError if it has none."""
    pattern = re.compile(rf"(<!-- {name}:start -->\n)(?:.*?\n)?(<!-- {name}:end -->)", re.DOTALL)
    if not pattern.search(text):
        raise InputError(f"readme: no block '{name}' (<!-- {name}:start --> ... "
                         f"<!-- {name}:end -->)")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def render_blocks(text: str, build: Path, log=lambda msg: print(msg, file=sys.stderr)) -> str:
    """``text`` with every block of :data:`BLOCKS` whose report exists under ``build``
    rewritten. A report with missing keys is an InputError naming ``build``."""
    for name, render in BLOCKS.items():
        try:
            body = render(build)
        except (KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"build: the report for block '{name}' is malformed "
                             f"({type(exc).__name__}: {exc})") from exc
        if body is None:
            log(f"readme: no report for block '{name}'; left as is")
            continue
        text = replace_block(text, name, body)
    return text


def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m report.readme", description=__doc__.split("\n")[0])
    p.parse_args(argv)
    readme, build = Path("README.md"), Path("build")

    def body() -> int:
        try:
            text = readme.read_text()
        except OSError as exc:
            raise InputError(f"readme: cannot read {readme}: {exc.strerror or exc}") from exc
        write_text(readme, render_blocks(text, build))
        return 0

    return run_cli(body)


if __name__ == "__main__":
    sys.exit(main())
