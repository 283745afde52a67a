"""hw.plan on its own: one plan type per engine kind, the field-width policy, the
row constants of weighted and asymmetric layers, out-of-range thresholds and binary
inputs, and every refusal (PlanError,
whole messages)."""

import json
import re

import numpy as np
import pytest

from hw.binary_engine import BinaryEngine
from hw.float_datapath import FloatDatapath
from hw.binary_plan import choose_lanes, engine_inputs, plan_binary
from hw.plan import (MAX_SKIP_FRACTION, BinaryLayerPlan, BinaryPlan, EnginePlan, FloatLayerPlan, FloatPlan,
                     PlanError, choose_field_width, plan_engine, plan_float)
from sw import rle
from sw.errors import InputError
from sw.model_file import accumulator_range
from sw.synthetic import random_binary_model, random_float_model


def test_one_plan_type_per_kind():
    rng = np.random.default_rng(0)
    binary = plan_engine(random_binary_model(rng, [12, 5, 3], 0.5), 2)
    floats = plan_engine(random_float_model(rng, [12, 5, 3], 0.5), 2, add_latency=2)
    assert type(binary) is BinaryPlan and type(floats) is FloatPlan
    assert isinstance(binary, EnginePlan) and isinstance(floats, EnginePlan)
    assert all(type(lp) is BinaryLayerPlan for lp in binary.layers)
    assert all(type(lp) is FloatLayerPlan for lp in floats.layers)
    assert (binary.kind, binary.act_width, binary.golden_lanes, binary.out_width) == ("binary", 1, 1, binary.last_acc_width)
    assert (floats.kind, floats.act_width, floats.golden_lanes, floats.out_width) == ("float", 32, 2, 32)
    assert [lp.bits_mode for lp in binary.layers] == [False, True]
    assert not binary.weighted and binary.row_k is None and binary.k_width == 0
    assert not floats.asymmetric and floats.const_width == 64
    assert floats.row_consts.dtype == np.uint64 and floats.x_table.dtype == np.uint32
    assert not hasattr(binary, "asymmetric") and not hasattr(floats, "weighted")


def test_weighted_binary_layers():
    """kp{l}/kn{l}: BinaryLayerPlan.weighted per layer; row_k packs kp | kn << k_width,
    with kp = kn = 1 in the ordinary layers of a weighted plan."""
    model = random_binary_model(np.random.default_rng(1), [20, 9, 7, 4], 0.4, weighted=(0, 2), k_max=1000)
    plan = plan_binary(model, 3)
    assert plan.weighted and plan.weighted_layers == 2
    assert [lp.weighted for lp in plan.layers] == [True, False, True]
    kp = plan.row_k & ((1 << plan.k_width) - 1)
    kn = plan.row_k >> np.uint64(plan.k_width)
    middle = slice(plan.layers[1].const_base, plan.layers[2].const_base)
    np.testing.assert_array_equal(kp[:9], model.row_weight(0)[0])
    np.testing.assert_array_equal(kn[:9], model.row_weight(0)[1])
    assert set(kp[middle]) == {1} and set(kn[middle]) == {1}
    assert plan.k_width == max(int(kp.max()), int(kn.max())).bit_length()


def test_asymmetric_float_layers():
    """sn{l}: FloatLayerPlan.asymmetric per layer; row constants s | b << 32 | sn << 64
    as Python ints (sn = 0 in ordinary layers), 96 bits."""
    model = random_float_model(np.random.default_rng(2), [16, 6, 5], 0.5, asymmetric=(1,))
    plan = plan_float(model, 2)
    assert plan.asymmetric and plan.asymmetric_layers == 1 and plan.const_width == 96
    assert [lp.asymmetric for lp in plan.layers] == [False, True]
    assert plan.row_consts.dtype == object
    bits = lambda v: v.astype(np.float32).view(np.uint32).astype(object)  # noqa: E731
    s, b = (np.concatenate([bits(v) for v in vs]) for vs in (model.scales, model.biases))
    sn = np.concatenate([np.zeros(6, dtype=object), bits(model.neg_scale(1))])
    assert list(plan.row_consts) == [int(x) | int(y) << 32 | int(z) << 64 for x, y, z in zip(s, b, sn)]


def test_summary_is_json_and_names_the_kind():
    rng = np.random.default_rng(3)
    binary = plan_binary(random_binary_model(rng, [12, 5, 3], 0.5, weighted=(1,)), 2).summary()
    floats = plan_float(random_float_model(rng, [12, 5, 3], 0.5, asymmetric=(0,)), 2).summary()
    json.dumps([binary, floats])
    assert binary["activation"] == "binary" and floats["activation"] == "float"
    assert {"acc_width", "score_width", "const_width", "k_width"} <= set(binary)
    assert {"add_latency", "mul_latency"} <= set(floats) and "acc_width" not in floats
    assert [lp["weighted"] for lp in binary["layers"]] == [False, True]
    assert [lp["asymmetric"] for lp in floats["layers"]] == [True, False]


def test_float_field_width_policy_trades_bits_for_skip_cycles():
    """The float engine's run field (one stream, skip words allowed); the binary
    engine's lanes take the narrowest field without skip words."""
    rng = np.random.default_rng(2)
    model = random_binary_model(rng, [784, 64, 10], 0.03)
    g = choose_field_width(model.weights)
    nnz = sum(int(np.count_nonzero(w)) for w in model.weights)
    stats = {k: (sum(rle.encoded_bits(w, k) for w in model.weights),
                 sum(rle.encode(w, k).n_skips for w in model.weights)) for k in range(1, 11)}
    assert stats[g][1] <= MAX_SKIP_FRACTION * nnz
    assert all(stats[k][0] >= stats[g][0] for k in stats if stats[k][1] <= MAX_SKIP_FRACTION * nnz)
    longest = max(int(np.diff(np.flatnonzero(row), prepend=-1).max()) - 1
                  for w in model.weights for row in w if row.any())
    assert plan_binary(model, 2, lanes=1).field_width == max(1, longest.bit_length())


def refused(message, plan, *args, **kwargs):
    with pytest.raises(PlanError, match=f"^{re.escape(message)}$"):
        plan(*args, **kwargs)


def test_refusals_start_with_the_field():
    rng = np.random.default_rng(1)
    binary = random_binary_model(rng, [8, 4, 2], 0.5)
    floats = random_float_model(rng, [8, 4], 0.5)
    refused("reuse: 0 is outside the supported range 1..256", plan_binary, binary, 0)
    refused("reuse: 1000 is outside the supported range 1..256", plan_binary, binary, 1000)
    refused(f"field_width: must be in 1..{rle.MAX_FIELD_WIDTH}, got 0", plan_binary, binary, 2, field_width=0)
    refused("add_latency: 0 is outside the supported range 1..8", plan_float, floats, 2, add_latency=0)
    refused("mul_latency: 9 is outside the supported range 1..7", plan_float, floats, 2, mul_latency=9)
    refused("dsp_shifts: must be True or False, got 1", plan_float, floats, 2, dsp_shifts=1)
    refused("activation: the float engine needs a 'float' model, got 'binary'", plan_float, binary, 2)
    refused("activation: the binary engine needs a 'binary' model, got 'float'", plan_binary, floats, 2)
    refused("add_latency: only float models have this option", plan_engine, binary, 2, add_latency=3)
    refused("lanes: 0 is outside the supported range 1..16", plan_binary, binary, 2, lanes=0)
    refused("lanes: 17 is outside the supported range 1..16", plan_binary, binary, 2, lanes=17)
    refused("lanes: the float engine takes one nonzero per cycle, got 2", plan_engine, floats, 2, lanes=2)
    binary.weights[1] = binary.weights[1][:, :3]
    refused("w1: 3 inputs, but layer 0 has 4 outputs", plan_binary, binary, 2)
    assert issubclass(PlanError, InputError) and issubclass(PlanError, ValueError)


def test_datapaths_refuse_the_other_kind_of_plan():
    """A wrong plan type is a programming error: TypeError, no Amaranth warning."""
    rng = np.random.default_rng(4)
    binary = plan_binary(random_binary_model(rng, [8, 4, 2], 0.5), 2)
    floats = plan_float(random_float_model(rng, [8, 4], 0.5), 2)
    with pytest.raises(TypeError, match=r"^plan: the binary engine needs a BinaryPlan, got FloatPlan$"):
        BinaryEngine(floats)
    with pytest.raises(TypeError, match=r"^plan: the float datapath needs a FloatPlan, got BinaryPlan$"):
        FloatDatapath(binary, 3)


def test_lanes_are_chosen_by_slot_use():
    """The most lanes whose slots carry a nonzero >= 75 % of the time: rows of 16
    nonzeros fill 16 lanes; rows of 5 fill 4 lanes at 5/8, 2 at 5/6, 1 always."""
    w16 = np.zeros((4, 64), np.int8)
    w16[:, ::4] = 1
    assert choose_lanes([w16]) == 16
    w5 = np.zeros((4, 64), np.int8)
    w5[:, :5] = -1
    assert choose_lanes([w5]) == 2
    assert choose_lanes([np.zeros((3, 9), np.int8)]) == 1


def test_binary_cycle_budget_counts_passes_beats_and_stalls():
    """Layer 0 is walked 8 times (pixel bit planes), other layers once; ideal =
    passes x ceil(nnz / K) per row; empty rows one beat per walk."""
    rng = np.random.default_rng(8)
    model = random_binary_model(rng, [30, 6, 4], 0.3)
    model.weights[0][0, :] = 0
    plan = plan_binary(model, 2, lanes=3)
    nnz = [(w != 0).sum(axis=1) for w in model.weights]
    ideal = 8 * int((-(-nnz[0] // 3)).sum()) + int((-(-nnz[1] // 3)).sum())
    assert [lp.passes for lp in plan.layers] == [8, 1]
    budget = plan.cycle_budget(8)
    assert budget == {"nonzeros": ideal, "empty_rows": 8 * 1 + int((nnz[1] == 0).sum()),
                      "layer_overhead": 16}
    assert plan.ideal_cycles == ideal
def test_thresholds_beyond_the_range_are_clamped_before_folding():
    """Out-of-range thresholds (constant bits) give the constants of the range's ends."""
    model = random_binary_model(np.random.default_rng(5), [10, 6, 5, 3], 0.5)
    at_ends = random_binary_model(np.random.default_rng(5), [10, 6, 5, 3], 0.5)
    for l in (0, 1):
        lo, hi = accumulator_range(model.weights[l], l)
        model.thresholds[l][:2] = [-2**31, 2**31 - 1]
        at_ends.thresholds[l][:2] = [lo[0], hi[1] + 1]
    a, b = plan_binary(model, 2), plan_binary(at_ends, 2)
    np.testing.assert_array_equal(a.row_consts, b.row_consts)
    assert (a.const_width, a.score_width) == (b.const_width, b.score_width)


def test_binary_inputs_walk_bit_plane_0_once():
    """Binary inputs: the host writes pixel >= T as pixels 0/1 and layer 0 is an
    XNOR-popcount layer walked once (one-layer networks too: their scores 2p - nnz)."""
    rng = np.random.default_rng(6)
    model = random_binary_model(rng, [30, 8, 3], 0.5, input_threshold=100)
    plan = plan_binary(model, 2, lanes=2)
    assert [lp.passes for lp in plan.layers] == [1, 1] and plan.out_shift == 1
    pixels = rng.integers(0, 256, (64, 30), dtype=np.uint8)
    bits = engine_inputs(model, pixels)
    assert bits.dtype == np.uint8
    np.testing.assert_array_equal(bits, pixels >= 100)
    plain = random_binary_model(rng, [30, 8, 3], 0.5)
    assert engine_inputs(plain, pixels) is pixels
    one_layer = plan_binary(random_binary_model(rng, [30, 3], 0.5, input_threshold=100), 2)
    assert [lp.passes for lp in one_layer.layers] == [1] and one_layer.out_shift == 1


@pytest.mark.parametrize("module", ["hw.binary_plan", "hw.float_plan"])
def test_either_kind_module_imports_first(module):
    """hw.plan serves the kinds' types without importing their modules at load time, so a
    fresh interpreter may import either kind's module before hw.plan."""
    import subprocess
    import sys
    from pathlib import Path
    done = subprocess.run([sys.executable, "-c", f"import {module}, hw.plan; hw.plan.BinaryPlan; hw.plan.FloatPlan"],
                          cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
