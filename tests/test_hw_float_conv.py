"""hw.engine's float datapath on convolution networks (hw.float_conv) in the Amaranth
simulator against the golden model: every bit of the outputs and, in some presets,
of every hidden layer (stop_after); exact cycles where walks are long. The presets of
sw.synthetic.CONV_PRESETS have odd map sizes, padding, strides of 2, 1 x k and
k x 1 kernels, pools with leftover rows and columns, and in every conv layer an
empty channel, a dense channel and a channel with one corner tap."""

import numpy as np
import pytest

from engine_sim import run_engine_raw
from hw.engine import build_engine, cycle_budget, layer_overhead
from hw.plan import PlanError, plan_float
from sw import golden
from sw.synthetic import ConvLayer, conv_preset, random_conv_model, random_float_model


def pixels_for(model, n_images, seed):
    pixels = np.random.default_rng(seed).integers(0, 256, size=(n_images, model.n_inputs), dtype=np.uint8)
    pixels[0] = 255
    if n_images > 1:
        pixels[1] = 0
    return pixels


def check(model, reuse, add_latency, hidden=True, seed=0, images=None, pixel_group=1):
    """``images`` (default two batches, the second one image short) against the
    golden model; then (``hidden``) each hidden layer of the first batch. Returns
    the plan and the batches' cycles."""
    plan = plan_float(model, reuse, add_latency=add_latency, pixel_group=pixel_group)
    batch = plan.batch
    pixels = pixels_for(model, images or (2 * batch - 1 if batch > 1 else 2), seed)
    want, want_hidden = golden.forward(model, pixels, lanes=plan.golden_lanes)
    words, cycles = run_engine_raw(plan, pixels)
    np.testing.assert_array_equal(words, want.view(np.uint32))
    assert cycles == [sum(cycle_budget(plan).values())] * len(cycles)  # exact, data-independent
    for k in range(1, model.n_layers) if hidden else ():
        got, _ = run_engine_raw(plan, pixels[:batch], stop_after=k)
        np.testing.assert_array_equal(got, want_hidden[k - 1][:batch].view(np.uint32),
                                      err_msg=f"layer {k - 1}")
    return plan, cycles


#: preset -> (R, P, adder latency): B x P slots with short last groups, B = 1 (strips),
#: layer 0 padded (its padding cells read per slot), pools with leftovers.
PIXEL_GROUP_RUNS = {"odd": (6, 2, 3), "strips": (5, 5, 2), "stride2": (6, 3, 3)}


@pytest.mark.parametrize("name", PIXEL_GROUP_RUNS)
def test_conv_pixel_groups_match_golden(name):
    reuse, group, latency = PIXEL_GROUP_RUNS[name]
    model = conv_preset(name, "float", seed=len(name))
    plan, _ = check(model, reuse, latency, hidden=name == "stride2", seed=reuse, pixel_group=group)
    g = plan.layers[0].conv
    assert plan.batch == reuse // group and plan.layers[0].passes == g.walks(group) < g.pixels
    assert plan.input_padded or name == "strips"


# The Amaranth simulator is slow on the fp32 units, so the presets share out the
# checks: two batches (the second one short) where images is None, else one
# batch of that many images; the hidden layers read back where hidden.
@pytest.mark.parametrize("preset, reuse, add_latency, images, hidden", [
    ("odd", 3, 3, 3, True),          # 3x3 pad 1 on 7x9, 2x2 pool with a leftover row and column; 1x3 pad (0, 1)
    ("stride2", 3, 1, 3, True),      # stride 2 pad 1, 3x1 kernel; L = 1: no reduction
    ("strips", 5, 3, 5, False),      # 1x3, 3x1 stride (2, 1), 1x2 pool, 2x2 without padding
    ("wide", 3, 2, None, False),     # 5x5 pad 2 on 3 channels, 3x2 pool with leftovers; L = 2
    ("odd", 1, 1, None, True),       # R = 1
    ("stride2", 7, 2, 6, False),     # R > L*L + 1: the output unit paces the row ends; a short batch
])
def test_conv_presets_match_golden(preset, reuse, add_latency, images, hidden):
    model = conv_preset(preset, "float", seed=reuse + add_latency)
    plan, _ = check(model, reuse, add_latency, hidden=hidden, images=images)
    assert plan.conv and [lp.conv is not None for lp in plan.layers].count(True) >= 1


@pytest.mark.slow
def test_vgg_preset_matches_golden():
    """Three conv layers (two with padding, a 2x2 pool, a stride 2), two dense."""
    check(conv_preset("vgg", "float"), 2, 3, hidden=False, images=2)


def test_layer0_padding_reads_nothing():
    """Pixel 0 is far from +0.0 after x_table, so a padded tap that read it would
    show: an image of zeros, a kernel of corner taps only (in the padding at every
    border pixel), one channel per corner."""
    rng = np.random.default_rng(3)
    model = random_conv_model(rng, "float", (1, 5, 6), [ConvLayer(4, (3, 3), (1, 1), (1, 1))], [3],
                              density=0.5, special=False)
    w = model.weights[0]
    w[:] = 0
    for j, (ky, kx) in enumerate([(0, 0), (0, 2), (2, 0), (2, 2)]):
        w[j, 0, ky, kx] = 1 if j % 2 else -1
    model.x_scale, model.x_offset = np.float32(1.0), np.float32(-100.0)
    model.scales[0][:] = np.float32(1.0)
    model.biases[0][:] = np.float32(200.0)  # ReLU keeps every pixel's sum
    plan, _ = check(model, 2, 3)
    assert plan.input_padded


def test_long_walks_take_the_predicted_cycles():
    """Dense kernels (every walk at least L*L - L + 3 words: each row end finds the
    previous tail capturing; no skip words): the words and reduction slots of every
    walk, minus each layer's last walk's slots, plus the layer overhead and a cycle at
    each conv row's first rewind (its first pass's last word is taken at once), exactly."""
    rng = np.random.default_rng(8)
    model = random_conv_model(rng, "float", (2, 6, 7), [ConvLayer(3, (3, 3), (1, 1), (1, 1), (2, 3)),
                                                       ConvLayer(8, (2, 2), (1, 1), (0, 0))],
                              [5], density=1.0, special=False)  # walks of 18, 12 and 16 words
    plan, cycles = check(model, 3, 3, hidden=False)
    L = plan.add_latency
    assert all(lp.skip_words == 0 for lp in plan.layers)
    walks = sum(lp.word_count * lp.passes for lp in plan.layers)
    slots = sum((L - 1) * (lp.n_out * lp.passes - 1) for lp in plan.layers)
    rewinds = sum(lp.n_out for lp in plan.layers if lp.passes > 1)
    assert cycles[0] == walks + slots + rewinds + layer_overhead(plan) * len(plan.layers)
    # each layer's last walk's slots, the rows' first rewinds
    assert cycle_budget(plan)["stalls"] == rewinds - (L - 1) * len(plan.layers)
    assert plan.ideal_cycles == sum(lp.nonzeros * lp.passes for lp in plan.layers)


def test_two_scale_dense_layer_after_convolutions():
    """``sn{l}`` on a dense layer of a conv network: its second partial-sum set."""
    model = conv_preset("stride2", "float", seed=2)
    model.neg_scales = [None, None, np.random.default_rng(1).uniform(0.1, 1, 7).astype(np.float32), None]
    plan, _ = check(model, 3, 2, hidden=False)
    assert plan.asymmetric_layers == 1


def test_conv_plan():
    model = conv_preset("odd", "float")
    plan = plan_float(model, 3)
    conv0, conv1 = plan.layers[0].conv, plan.layers[1].conv
    assert (conv0.hp, conv0.wp, conv0.hq, conv0.wq, conv0.out_pad_x) == (9, 11, 3, 4, 1)
    assert (conv1.c, conv1.hp, conv1.wp, conv1.oh, conv1.ow, conv1.out_pad_x) == (5, 3, 6, 3, 4, 0)
    assert [lp.passes for lp in plan.layers] == [6 * 8, 3 * 4, 1, 1]
    assert [lp.n_in for lp in plan.layers] == [63, 60, 72, 9]
    assert [lp.outputs for lp in plan.layers] == [60, 72, 9, 4]
    assert plan.layout.plane_size == 99 and plan.act_base == 99
    assert plan.act_depth == 5 * 3 * 6 + 72 + 9
    assert sorted(plan.input_addresses) == list(plan.input_addresses)
    assert plan.input_padding.sum() == 99 - 63 and not plan.input_padding[plan.input_addresses].any()
    assert len(plan.hidden_addresses(0)) == 60 and plan.hidden_addresses(2).tolist() == list(range(9))
    # The walks: each conv row over its tap columns, once per computed output pixel.
    nnz = [int((model.weights[l] != 0).sum()) for l in range(4)]
    assert [lp.nonzeros for lp in plan.layers] == nnz
    assert plan.ideal_cycles == sum(n * lp.passes for n, lp in zip(nnz, plan.layers))
    assert plan.walks == sum(lp.n_out * lp.passes for lp in plan.layers)


def test_two_scale_conv_layers_are_refused():
    model = conv_preset("wide", "float")
    model.neg_scales = [np.ones(7, np.float32), None]
    with pytest.raises(PlanError, match=r"^sn0: the float engine runs two-scale layers as dense layers "
                                        r"only \(layer 0 is a convolution\)$"):
        plan_float(model, 2)


def test_dense_plans_build_no_conv_parts():
    """Dense float plans keep their engine (ping-pong buffers, no scan)."""
    plan = plan_float(random_float_model(np.random.default_rng(1), [12, 5, 3], 0.5), 2)
    assert not plan.conv and plan.input_addresses.tolist() == list(range(12))
    from amaranth.back import rtlil
    text = rtlil.convert(build_engine(plan), name="top", emit_src=False)
    assert "scan" not in text and "padding" not in text and "acts0" in text
