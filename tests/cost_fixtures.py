"""A synthesis summary shaped like ``build/synth/summary.json``, for the cost and report tests.

Engines cost 200 + 80 R LUT sites from R = 8 on, with 128 extra LUTRAM sites below (the
bit buffers' LUTRAM); float engines 1500 + 900 R LUTs and 2 DSPs.
"""

from cost.fit import derive
from cost.netlist import LogicLevels, Resources
from cost.summary import BlockResult, LayerInfo, ModelInfo, SynthSummary, ToolInfo


def block(name, luts, lutram=0, ffs=10, dsps=0, reuse=None, float_reuse=None, levels=(2, 3),
          description=None) -> BlockResult:
    resources = Resources(luts=luts, ffs=ffs, carry=4, muxf=0, dsps=dsps, ramb18=0, ramb36=0,
                          lutram_luts=lutram)
    return BlockResult(name, "0123456789abcdef", "rtlil", resources, LogicLevels(*levels), 1.5,
                       description or f"block {luts}", reuse, float_reuse)


def fake_blocks() -> dict:
    blocks = {
        "decoder": block("decoder", 150, levels=(7, 8)), "decoder_1k": block("decoder_1k", 64),
        "pe_xnor": block("pe_xnor", 34), "pe_int8": block("pe_int8", 57),
        "pe_dual": block("pe_dual", 81), "pe_float": block("pe_float", 700),
        "fp32_add": block("fp32_add", 439), "fp32_mul": block("fp32_mul", 455, dsps=2),
    }
    for r in (1, 2, 4, 8, 16, 32):
        blocks[f"engine_r{r}"] = block(f"engine_r{r}", 200 + 80 * r,
                                       lutram=128 if r < 8 else 0, reuse=r)
    for r in (2, 4, 8):
        blocks[f"engine_float_r{r}"] = block(f"engine_float_r{r}", 1500 + 900 * r, dsps=2,
                                             float_reuse=r)
    return blocks


def fake_summary(blocks: dict | None = None) -> SynthSummary:
    blocks = fake_blocks() if blocks is None else blocks
    model = ModelInfo(path="m.npz", field_width=4, n_cols=784, words=1000, acc_width=10,
                      const_width=11, score_width=11,
                      layers=(LayerInfo((512, 784), 16056, 0.04), LayerInfo((10, 512), 870, 0.17)),
                      gamma=0.035)
    return SynthSummary(tool=ToolInfo("test", "rtlil", "script"), model=model, blocks=blocks,
                        derived=derive(blocks))
