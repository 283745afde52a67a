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
                                        *names.REQUIRED[4:], "engine_r1_k4", "engine_r8_k4",
                                        "engine_r8_k1", "engine_r8_k16",
                                        "dense_mvu_s16_p16", "dense_mvu_s32_p16",
                                        "dense_mvu_s32_p32"]
    assert [(b.reuse, b.lanes) for b in blocks if b.reuse] == [(1, 4), (8, 4), (8, 1), (8, 16)]
    assert not any(b.float_reuse for b in blocks)
    assert [b.dense for b in blocks if b.dense] == [
        DenseShape(512, 512, 16, 16), DenseShape(512, 512, 32, 16), DenseShape(512, 512, 32, 32)]
    assert [b.name for b in blocks if b.pnr] == ["decoder", "pe_xnor", "engine_r8_k4",
                                                 "dense_mvu_s32_p32"]
    assert blocks[-1].description == "dense BNN unit (FINN-style MVU), 512x512, SIMD=32, PE=32"
    weights = load_model(SMALL).weights
    assert info.path == SMALL and info.gamma == gamma.overall(gamma.of_weights(weights))
    assert [layer.shape for layer in info.layers] == [w.shape for w in weights]
    assert info.words > 1024 and info.n_cols == max(w.shape[1] for w in weights)


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
