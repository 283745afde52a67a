"""The benchmark's Markdown: the at-a-glance table (also README's ``bench`` block) and
``REPORT.md``, both from the report JSON ``python -m report.bench`` writes."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["glance_table", "render_markdown"]


def _pct(x) -> str:
    return f"{100 * x:.2f} %"


def _tops(m: dict) -> str:
    t = m["roofline"]["effective_tops"]
    return f"{t['paper']:.2f} / " + (f"{t['measured']:.2f}" if "measured" in t
                                     else "not synthesised")


def glance_table(report: dict) -> str:
    """One column per model: bit-exactness, accuracy, sparsity, sizes, cycles, TOPs."""
    models = report["models"]
    names = list(models)
    rows = [("activations", lambda m: m["activation"]),
            ("test images bit-exact in RTL", lambda m: f"{m['bit_exact']:,} / {m['images']:,}"),
            ("accuracy: RTL / golden model",
             lambda m: f"{_pct(m['hw_accuracy'])} / {_pct(m['sw_accuracy'])}"),
            ("zero weights", lambda m: _pct(m["sizes"]["zero_fraction"])),
            ("weight bits per weight: RLE / Huffman (2-bit dense: 2)",
             lambda m: f"{m['sizes']['rle_bits_per_weight']:.3f} / "
                       f"{m['sizes']['huffman_bits_per_weight']:.3f}"),
            ("R = B x P (images per batch x output pixels per weight fetch)", _reuse_cell(report)),
            ("cycles per batch: measured / ideal",
             lambda m: f"{m['cycles_per_batch']['measured']:,.0f} / "
                       f"{m['cycles_per_batch']['ideal']:,.0f} "
                       f"({m['cycles_per_batch']['ratio']:.3f})"),
            ("simulation: wall s / simulated cycles per s",
             lambda m: f"{m['sim_seconds']:.0f} / {m['sim_cycles_per_second']:,}"),
            ("effective TOPs on KU115 at this gamma and R: paper constants / measured", _tops)]
    lines = ["| | " + " | ".join(f"`{n}`" for n in names) + " |",
             "| --- |" + " ---: |" * len(names)]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(models[n]) for n in names) + " |")
    return "\n".join(lines)


def _reuse_cell(report: dict):
    def cell(m: dict) -> str:
        r, p = m.get("reuse", report["settings"]["reuse"]), m.get("pixels", 1)
        return f"{r} = {r // p} x {p}" if isinstance(r, int) else str(r)
    return cell


def _model_section(name: str, m: dict) -> list[str]:
    stages = ", ".join(f"{k} {_pct(v)}" for k, v in m["training"]["stages"].items())
    baselines = m["training"]["baselines"]
    out = ["", f"## `{name}`", "",
           "Test accuracy per training stage: " + stages
           + ("; baselines: " + ", ".join(f"{k} {_pct(v)}" for k, v in baselines.items())
              if baselines else "") + ".", "",
           "| layer | shape | zeros | gamma | R = B x P | eff. TOPs paper | eff. TOPs measured |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for layer, roof in zip(m["layers"], m["roofline"]["layers"]):
        t = roof["effective_tops"]
        measured = f"{t['measured']:.2f}" if "measured" in t else "-"
        r = roof.get("reuse", {})
        reuse = f"{r['R']} = {r['B']} x {r['P']}" if r else "-"
        out.append(f"| {layer['name']} | {'x'.join(map(str, layer['shape']))} "
                   f"| {_pct(layer['zero_fraction'])} | {roof['gamma']:.4f} | {reuse} | {t['paper']:.2f} "
                   f"| {measured} |")
    v = m["validation"]
    out += ["", "Cycles per batch by cause (model): " + ", ".join(
        f"{k} {val:,}" for k, val in m["cycles_per_batch"]["budget"].items())
        + f"; measured {m['cycles_per_batch']['measured']:,.0f}.", ""]
    if m["activation"] == "float":
        out += [f"Largest difference of any output to a float64 forward pass: "
                f"{v['max_abs_diff_vs_float64']:.3g}; argmax agreement with it: "
                f"{_pct(v['argmax_agreement_vs_float64'])}; adder latency {v['add_latency']} "
                f"(= partial sums per row).", ""]
    return out


def _reuse_text(reuse) -> str:
    """``settings.reuse``: one R, or R per config."""
    if isinstance(reuse, int):
        return str(reuse)
    return ", ".join(f"{r} ({name})" for name, r in reuse.items())


def render_markdown(report: dict) -> str:
    """``REPORT.md``: the table first, then the plots, phases, per-model sections, tools."""
    s = report["settings"]
    where = (f"Dask cluster at {s['cluster']}" if s.get("cluster")
             else f"{s['jobs']} simulation processes")
    out = ["# Benchmark report", "",
           f"Commit `{(report['git']['commit'] or 'unknown')[:12]}`"
           f"{' (uncommitted changes)' if report['git']['dirty'] else ''}, {report['date']}; "
           f"{s['simulator']}, R = {_reuse_text(s['reuse'])}, {where}.", "",
           glance_table(report), ""]
    for plot in report["plots"]:
        out += [f"![{Path(plot).stem}]({Path(plot).name})", ""]
    out += ["## Phases (wall seconds)", "", "| phase | s |", "| --- | ---: |"]
    out += [f"| {k} | {v:.1f} |" for k, v in report["phases"].items()]
    for name, m in report["models"].items():
        out += _model_section(name, m)
    out += ["", "## Tools", "", "```json", json.dumps(report["versions"], indent=1), "```", "",
            "Fmax is not measured (no place-and-route); the TOPs figures assume the paper's 250 MHz."]
    return "\n".join(out) + "\n"
