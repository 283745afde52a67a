"""The block catalogue (cost/blocks.py): names, sizes and the model it describes."""

import re

import pytest
from amaranth.back import rtlil

from cost import gamma, names
from cost.blocks import PixelLanePE, dense_layer, standard_blocks
from cost.summary import DenseShape
from sw.errors import InputError
from sw.model_file import load_model

SMALL = "sw/pretrained/fmnist-mlp-binary-small.npz"


def test_standard_blocks_of_the_small_model():
    blocks, info = standard_blocks(SMALL, (1, 8), float_model_path=None, lanes_sweep=(1, 4, 16))
    assert [b.name for b in blocks] == [*names.REQUIRED[:4], names.PE_WEIGHTED,
                                        *names.REQUIRED[4:], "pe_float_l7", "fp32_add_l7",
                                        "fp32_mul_l7", "pe_float_dsp", "pe_float_l7_dsp",
                                        "fp32_add_dsp", "engine_r1_k4", "engine_r8_k4",
                                        "engine_r8_k1", "engine_r8_k16",
                                        "dense_mvu_s16_p16", "dense_mvu_s32_p16",
                                        "dense_mvu_s32_p32"]
    assert [(b.reuse, b.lanes) for b in blocks if b.reuse] == [(1, 4), (8, 4), (8, 1), (8, 16)]
    assert not any(b.float_reuse for b in blocks)
    assert [b.dense for b in blocks if b.dense] == [
        DenseShape(512, 512, 16, 16), DenseShape(512, 512, 32, 16), DenseShape(512, 512, 32, 32)]
    assert [b.name for b in blocks if b.pnr] == ["decoder", "pe_xnor", "pe_float", "pe_float_l7",
                                                 "pe_float_dsp", "pe_float_l7_dsp",
                                                 "engine_r8_k4", "dense_mvu_s32_p32"]
    assert blocks[-1].description == "dense BNN unit (FINN-style MVU), 512x512, SIMD=32, PE=32"
    weights = load_model(SMALL).weights
    assert info.path == SMALL and info.gamma == gamma.overall(gamma.of_weights(weights))
    assert [layer.shape for layer in info.layers] == [w.shape for w in weights]
    assert info.words > 1024 and info.n_cols == max(w.shape[1] for w in weights)


def test_float_blocks_at_both_latencies(tmp_path):
    """The float units, PE and one engine also at FLOAT_DEEP_LATENCY; only the latency-3
    engines enter the C_op fit; the engines at PNR_FLOAT_REUSE are placed on the ECP5."""
    from cost.blocks import FLOAT_DEEP_LATENCY, PNR_FLOAT_REUSE
    import numpy as np
    from sw.model_file import save_model
    from sw.synthetic import random_float_model
    la, lm = FLOAT_DEEP_LATENCY
    path = save_model(tmp_path / "float.npz", random_float_model(np.random.default_rng(0), [12, 6, 3], 0.5))
    blocks, _ = standard_blocks(SMALL, (), float_model_path=path, float_reuses=(2, 4),
                                lanes_sweep=(), dense_sweep=())
    by_name = {b.name: b for b in blocks}
    engines = [b for b in blocks if b.name.startswith("engine_float")]
    assert [(b.name, b.float_reuse, b.pnr) for b in engines] == [
        ("engine_float_r2", 2, True), ("engine_float_r4", 4, False),
        (f"engine_float_r{PNR_FLOAT_REUSE}_l{la}", None, True),
        (f"engine_float_r{PNR_FLOAT_REUSE}_dsp", None, True)]
    built = {name: by_name[name].build() for name in (engines[-2].name, f"pe_float_l{la}",
                                                       f"fp32_add_l{la}", f"fp32_mul_l{lm}",
                                                       engines[-1].name, f"pe_float_l{la}_dsp")}
    for component in built.values():
        component._MustUse__silence = True  # not elaborated here
    deep = built[engines[-2].name].plan
    assert (deep.add_latency, deep.mul_latency) == (la, lm)
    assert built[engines[-1].name].plan.dsp_shifts and built[f"pe_float_l{la}_dsp"].dsp_shifts
    assert not built[engines[-2].name].plan.dsp_shifts
    assert built[f"pe_float_l{la}"].lanes == la
    assert built[f"fp32_add_l{la}"].latency == la and built[f"fp32_mul_l{lm}"].latency == lm
    assert names.at_latency(names.PE_FLOAT, 3) == names.PE_FLOAT


def test_pixel_lane_pe_adds_k_signed_pixels_per_cycle():
    from amaranth.sim import Simulator
    pe = PixelLanePE(3, 14)
    got = []

    async def testbench(ctx):
        for x, sign, null, row_start in ([(10, 20, 30), 0b010, 0b000, 1], [(255, 1, 2), 0b000, 0b100, 0]):
            ctx.set(pe.x, x[0] | x[1] << 8 | x[2] << 16)
            ctx.set(pe.sign, sign)
            ctx.set(pe.null, null)
            await ctx.tick()
            ctx.set(pe.valid, 1)
            ctx.set(pe.row_start, row_start)
            await ctx.tick()
            ctx.set(pe.valid, 0)
            got.append(ctx.get(pe.acc))

    sim = Simulator(pe)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    assert got == [10 - 20 + 30, 20 + 255 + 1]
    assert "module \\pe_int8" in rtlil.convert(PixelLanePE(2, 12), name="pe_int8", emit_src=False)


def test_missing_or_garbage_model_names_the_field(tmp_path):
    missing = tmp_path / "none.npz"
    with pytest.raises(InputError, match=f"^model: cannot read {re.escape(str(missing))}: "
                                         "No such file or directory$"):
        standard_blocks(missing)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    with pytest.raises(InputError, match=rf"^float_model: .*{re.escape(str(bad))}.*$"):
        standard_blocks(SMALL, float_model_path=bad)


def test_dense_layer_is_seeded_and_in_range():
    w, t = dense_layer(64, 100)
    w2, t2 = dense_layer(64, 100)
    assert (w == w2).all() and (t == t2).all() and w.shape == (64, 100) and t.shape == (64,)
    assert set(w.flat) == {-1, 1} and t.min() >= 50 - 32 and t.max() <= 50 + 32
    blocks, _ = standard_blocks(SMALL, (), float_model_path=None, dense_sweep=((4, 2),))
    unit = blocks[-1].build()
    assert (unit.simd, unit.pe, unit.n_out, unit.n_in) == (4, 2, 512, 512)
    rtlil.convert(unit, name="dense", emit_src=False)  # elaborates


def test_a_cnn_also_gets_the_pixel_group_engine_and_every_engine_plans(tmp_path):
    """A conv model: the engine at R = 32 = 8 x 4 beside the LUT fit's engines (no reuse
    recorded), and every engine's plan builds, those with more lanes than the model's
    choice at their own run-field width."""
    from sw.model_file import save_model
    from sw.synthetic import conv_preset
    path = save_model(tmp_path / "cnn.npz", conv_preset("odd", "binary", seed=3))
    blocks, _ = standard_blocks(path, (1, 32), float_model_path=None, lanes_sweep=(1, 16),
                                dense_sweep=())
    engines = {b.name: b for b in blocks if b.name.startswith("engine_")}

    def plan_of(block):  # the component is not elaborated here: silence Amaranth's warning
        engine = block.build()
        engine._MustUse__silence = True
        return engine.plan

    k = next(b.lanes for b in engines.values() if b.reuse == 1)
    grouped = engines[names.engine(32, k, 4)]
    assert grouped.reuse is None and plan_of(grouped).batch == 8
    built = {name: plan_of(b) for name, b in engines.items()}
    assert built[names.engine(8, 16)].lanes == 16 and built[names.engine(8, 1)].lanes == 1


def test_engines_with_more_lanes_than_the_plan_take_a_wider_run_field(tmp_path):
    """Rows of 20 nonzeros 100 columns apart: the plan takes K = 4 (runs of up to 4 x 100
    columns per lane); 16 lanes see runs of 16 x 100, two more run-field bits."""
    import numpy as np
    from sw.model_file import save_model
    from sw.synthetic import random_binary_model
    model = random_binary_model(np.random.default_rng(0), [2000, 4, 3], 0.3)
    model.weights[0][:] = 0
    model.weights[0][:, 50:2000:100] = 1
    path = save_model(tmp_path / "spread.npz", model)
    blocks, _ = standard_blocks(path, (1,), float_model_path=None, lanes_sweep=(16,), dense_sweep=())
    plans = {}
    for b in blocks:
        if b.name.startswith("engine_"):
            engine = b.build()
            engine._MustUse__silence = True  # not elaborated here
            plans[b.name] = engine.plan
    k4, k16 = plans[names.engine(1, 4)], plans[names.engine(8, 16)]
    assert k16.lanes == 16 and k16.field_width == k4.field_width + 2
