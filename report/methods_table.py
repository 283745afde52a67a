"""The methods comparison's Markdown table (``methods.md``, README's ``methods`` block)."""

from __future__ import annotations

__all__ = ["render_table"]


def _rtl_cell(e: dict) -> str:
    if e["exported"] and not e.get("rtl_run", True):
        return "not run (--cached-only)"
    if e["exported"]:
        return (f"{'yes' if e['bit_exact'] == e['images'] else 'NO'}: {e['bit_exact']:,} / "
                f"{e['images']:,}, hw acc = sw acc: {e['hw_accuracy'] == e['sw_accuracy']}")
    return f"not exportable: {e['export_reason'].split(';')[0]}"


def render_table(entries: list[dict]) -> str:
    """One row per (method, activation kind) entry of ``report.methods``' report."""
    reuse = entries[0]["roofline"]["reuse"] if entries else 8
    rows = ["| method | activations | test accuracy: PyTorch / model file | zero weights "
            f"| bits/weight RLE / Huffman | eff. TOPs KU115, R = {reuse}: paper / measured "
            "| RTL bit-exact (test images) | train s |",
            "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |"]
    for e in entries:
        golden = e.get("golden_test_acc")
        acc = f"{100 * e['test_acc']:.2f} % / " + (f"{100 * golden:.2f} %" if golden is not None else "-")
        t = e["roofline"]["effective_tops"]
        tops = f"{t['paper']:.1f} / " + (f"{t['measured']:.2f}" if "measured" in t else "-")
        kind = e["activation"] + (" (weighted)" if e.get("weighted") else
                                  " (asymmetric)" if e.get("asymmetric") else "")
        bits = [b for b in e.get("layer_bits", []) if b is not None]
        method = e["method"] + (f" (bits per layer: {', '.join(map(str, bits))})" if bits else "")
        rows.append(f"| {method} | {kind} | {acc} "
                    f"| {100 * e['zero_fraction']:.1f} % | {e['rle_bits_per_weight']:.3f} / "
                    f"{e['huffman_bits_per_weight']:.3f} | {tops} | {_rtl_cell(e)} "
                    f"| {e['train_seconds']:.0f} |")
    return "\n".join(rows)
