"""The binary engine's convolution mode (hw.conv_plan, hw.binary_conv) in the Amaranth
simulator against the golden model: padding, strides, 1 x k kernels, pools with
leftovers, empty / dense / one-corner-tap channels, binary inputs, R not a power
of two; outputs and every hidden layer, exact cycle counts."""

import numpy as np
import pytest

from engine_sim import run_engine_raw
from hw.binary_plan import engine_inputs, plan_binary
from hw.conv_plan import conv_geometry
from hw.engine import cycle_budget
from hw.plan import PlanError
from sw import golden
from sw.synthetic import CONV_PRESETS, ConvLayer, conv_preset, random_binary_model, random_conv_model


def check(model, reuse, lanes=None, n_images=None, seed=0, hidden=True, pixel_group=1):
    rng = np.random.default_rng(seed)
    batch = reuse // pixel_group
    pixels = rng.integers(0, 256, size=(n_images or batch + 1, model.n_inputs), dtype=np.uint8)
    plan = plan_binary(model, reuse, lanes=lanes, pixel_group=pixel_group)
    want, want_hidden = golden.forward(model, pixels)
    words, cycles = run_engine_raw(plan, engine_inputs(model, pixels))
    np.testing.assert_array_equal(words.view(np.int32), want)
    assert cycles == [sum(cycle_budget(plan).values())] * len(cycles)
    if hidden:
        for k in range(1, model.n_layers):
            acts, _ = run_engine_raw(plan, engine_inputs(model, pixels[:batch]), stop_after=k)
            np.testing.assert_array_equal(acts, want_hidden[k - 1][:batch], err_msg=f"layer {k - 1}")
    return plan


#: preset -> (R, K): R not a power of two, K from 1 to 8 (test_binary_inputs_conv: the plan's own K).
PRESET_RUNS = {"odd": (3, 2), "stride2": (2, 4), "strips": (5, 1), "vgg": (3, 4), "wide": (3, 8)}


@pytest.mark.parametrize("name", CONV_PRESETS)
def test_conv_engine_matches_golden(name):
    reuse, lanes = PRESET_RUNS[name]
    model = conv_preset(name, "binary", seed=len(name))
    plan = check(model, reuse, lanes, seed=reuse)
    assert plan.conv and plan.layers[0].passes == 8 * plan.layers[0].conv.pixels


#: preset -> (R, K, P): B x P slots, short last groups (odd, strips, stride2), B = 1 (strips),
#: rows padded to P cycles (every preset has empty channels).
PIXEL_GROUP_RUNS = {"odd": (6, 2, 2), "strips": (5, 1, 5), "stride2": (6, 4, 3)}


@pytest.mark.parametrize("name", PIXEL_GROUP_RUNS)
def test_conv_engine_with_pixel_groups_matches_golden(name):
    reuse, lanes, group = PIXEL_GROUP_RUNS[name]
    model = conv_preset(name, "binary", seed=len(name))
    plan = check(model, reuse, lanes, seed=reuse, pixel_group=group)
    g = plan.layers[0].conv
    assert plan.batch == reuse // group and plan.layers[0].passes == 8 * g.walks(group) < 8 * g.pixels
    assert sum(lp.pad_beats for lp in plan.layers) > 0 and cycle_budget(plan)["padding"] > 0


def test_pixel_group_refusals():
    conv = conv_preset("odd", "binary", seed=3)
    with pytest.raises(PlanError, match=r"^pixel_group: P must be a count >= 1 that divides R = 6, got 4$"):
        plan_binary(conv, 6, pixel_group=4)
    dense = random_binary_model(np.random.default_rng(0), [16, 5, 3])
    with pytest.raises(PlanError, match=r"^pixel_group: P > 1 needs convolution layers"):
        plan_binary(dense, 4, pixel_group=2)


def test_binary_inputs_conv():
    model = random_conv_model(np.random.default_rng(7), "binary", (1, 6, 6),
                              [ConvLayer(3, (3, 3), (1, 1), (1, 1), (2, 2))], [4], density=0.4,
                              input_threshold=100)
    plan = check(model, 2)
    assert plan.layers[0].passes == plan.layers[0].conv.pixels
    assert plan.layers[0].classes > 1  # a bits layer with padding: one start value per border class


def test_border_classes_of_a_padded_3x3():
    model = random_conv_model(np.random.default_rng(1), "binary", (1, 6, 7),
                              [ConvLayer(4, (3, 3), (1, 1), (1, 1))], [5])
    g = conv_geometry(model)[0]
    assert g.y_class == (0, 1, 1, 1, 1, 2) and g.x_class == (0, 1, 1, 1, 1, 1, 2)
    assert g.valid_taps(0).tolist() == [[False] * 3, [False, True, True], [False, True, True]]


def test_weighted_conv_layers_are_refused():
    model = random_conv_model(np.random.default_rng(2), "binary", (1, 5, 5),
                              [ConvLayer(2, (3, 3), (1, 1), (1, 1))], [3])
    model.row_weights = [(np.ones(2, np.int32), np.ones(2, np.int32)), None]
    with pytest.raises(PlanError, match=r"^kp0: the binary engine runs weighted layers in dense networks only$"):
        plan_binary(model, 2)
