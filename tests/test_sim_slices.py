"""sim.slices: one build per design (reused while its sources and tools are unchanged),
and a slice whose testbench fails is named with its images."""

import socket

import numpy as np
import pytest

from hw.plan import plan_engine
from sim import runner, slices, validate
from sim.slices import Design, Slice, SliceFailed, ensure_built, run_slice
from sw import golden
from sw.synthetic import random_binary_model


def test_a_design_is_built_once_and_rebuilt_for_other_tools(tmp_path, monkeypatch):
    rng = np.random.default_rng(31)
    model = random_binary_model(rng, [12, 6, 3], 0.5)
    plan = plan_engine(model, 2)
    sources = validate.generate(plan, tmp_path / "gen")
    design = Design.from_files(sources, "verilator", f"{validate.TOP}_tb")
    assert design.digest == runner.source_digest(sources)
    assert design.folder_name == f"sim-verilator-{design.digest}"
    build_dir = ensure_built(design, tmp_path / "builds")
    assert build_dir == tmp_path / "builds" / design.folder_name

    def no_build(**kwargs):
        raise AssertionError("built again")

    monkeypatch.setattr(runner, "build_cocotb", no_build)
    assert ensure_built(design, tmp_path / "builds") == build_dir  # reused
    pixels = rng.integers(0, 256, (5, 12), dtype=np.uint8)
    result = run_slice(design, Slice(0, pixels, 2, plan.n_outputs, plan.act_width), build_dir,
                       tmp_path / "run")
    want, _ = golden.forward(model, pixels)
    np.testing.assert_array_equal(result["words"], validate.as_words(want))
    assert len(result["batch_cycles"]) == 3 and result["end"] >= result["start"]
    monkeypatch.setattr(slices, "build_stamp", lambda d: "other tools\n")
    with pytest.raises(AssertionError, match="built again"):
        ensure_built(design, tmp_path / "builds")


def test_a_failing_testbench_names_the_slice_images(tmp_path, monkeypatch):
    """The testbench fails (a test hook); under pytest cocotb's runner exits instead of
    returning, which must end as the same error, not as the caller's exit."""
    rng = np.random.default_rng(37)
    model = random_binary_model(rng, [12, 6, 3], 0.5)
    plan = plan_engine(model, 2)
    design = Design.from_files(validate.generate(plan, tmp_path / "gen"), "verilator",
                               f"{validate.TOP}_tb")
    build_dir = ensure_built(design, tmp_path / "builds")
    monkeypatch.setenv("TNN_TB_FAIL_IMAGE", "5")
    job = Slice(4, rng.integers(0, 256, (4, 12), dtype=np.uint8), 2, plan.n_outputs,
                plan.act_width)
    with pytest.raises(SliceFailed) as failed:
        run_slice(design, job, build_dir, tmp_path / "run")
    assert str(failed.value) == (f"images 4..7: the testbench failed (exit code 1) on "
                                 f"{socket.gethostname()}; its files: {tmp_path / 'run'}")
    monkeypatch.setenv("TNN_TB_FAIL_IMAGE", "8")  # not in this slice
    assert run_slice(design, job, build_dir, tmp_path / "run")["words"].shape == (4, 3)
