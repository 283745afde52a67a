"""sim.cluster: RTL validation on Dask. A worker killed mid-simulation loses nothing;
a cluster started by Dask's own commands is driven through ``--cluster``; a failed
slice is named with its images; an unreachable cluster is bad input. Everything
runs on loopback and is stopped by the test that started it."""

import json
import os
import re
import socket
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest

from cli_fixtures import cli_files, refused  # noqa: F401 (fixture)
from hw.plan import plan_engine
from report import bench, methods
from sim import cluster, validate
from sim import main as sim_main
from sim.cluster import Session, SliceRun, batch_slices, slice_count
from sim.slices import Design
from sw import golden
from sw.errors import InputError
from sw.model_file import save_model
from sw.synthetic import random_binary_model


def test_slices_cover_whole_batches_one_or_more_per_process():
    assert slice_count(batches=100, processes=2, batch_seconds=0.0) == 2
    assert slice_count(batches=100, processes=2, batch_seconds=1.5) == 4  # 150 s of work
    assert slice_count(batches=100, processes=2, batch_seconds=100.0) == 8  # at most 4 each
    assert slice_count(batches=3, processes=2, batch_seconds=100.0) == 3
    assert slice_count(batches=1, processes=4, batch_seconds=0.0) == 1
    assert batch_slices(21, 4, 2) == [slice(0, 12), slice(12, 21)]
    assert batch_slices(5, 8, 3) == [slice(0, 5)]
    parts = batch_slices(1000, 8, 8)
    assert parts[0].start == 0 and parts[-1].stop == 1000
    assert all(a.stop == b.start and a.start % 8 == 0 for a, b in zip(parts, parts[1:]))


def simulator_of(pid: int):
    """The Verilator testbench process under process ``pid``, if one runs."""
    try:
        for child in psutil.Process(pid).children(recursive=True):
            if child.name().startswith("tnn_engine_tb"):
                return child
    except psutil.NoSuchProcess:
        pass
    return None


def test_a_worker_killed_mid_simulation_loses_nothing(tmp_path):
    """Two workers, four slices; one worker (and its simulator) is killed while it
    simulates. Dask runs its slices again elsewhere: every output, bit-exact."""
    rng = np.random.default_rng(19)
    model = random_binary_model(rng, [48, 24, 10], 0.4)
    plan = plan_engine(model, 4)
    pixels = rng.integers(0, 256, (96, 48), dtype=np.uint8)
    sources = validate.generate(plan, tmp_path)
    design = Design.from_files(sources, "verilator", f"{validate.TOP}_tb")
    with Session(None, 2) as session:
        client = session.client
        pids = client.run(os.getpid)
        run = SliceRun(client, design, pixels, reuse=4, n_out=plan.n_outputs,
                       act_width=plan.act_width, batch_seconds=10.0)
        assert len(run.jobs) == 4 and run.processes == 2
        deadline, victim = time.monotonic() + 60, None
        while victim is None and time.monotonic() < deadline:
            victim = next((pid for pid in pids.values() if simulator_of(pid)), None)
            time.sleep(0.05)
        assert victim is not None, "no slice started simulating"
        doomed = [psutil.Process(victim), *psutil.Process(victim).children(recursive=True)]
        for proc in doomed:
            proc.kill()
        psutil.wait_procs(doomed, timeout=10)
        result = run.collect()
    want, _ = golden.forward(model, pixels)
    assert result.failures == []
    assert result.simulated.all()
    np.testing.assert_array_equal(result.words, validate.as_words(want))
    assert len(result.report["batch_cycles"]) == 24
    assert result.report["processes"] == 2 and result.report["slices"] == 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_validate_on_a_cluster_started_with_dask_commands(tmp_path):
    """``dask scheduler`` and ``dask worker`` on loopback (the worker builds in its own
    folder, ``TNN_BUILD``); ``--cluster`` and then ``TNN_DASK_CLUSTER`` point at it;
    the second run reuses the worker's build."""
    rng = np.random.default_rng(23)
    model = random_binary_model(rng, [32, 16, 6], 0.5)
    save_model(tmp_path / "m.npz", model)
    pixels = rng.integers(0, 256, (20, 32), dtype=np.uint8)
    np.save(tmp_path / "x.npy", pixels)
    address = f"tcp://127.0.0.1:{free_port()}"
    env = {**os.environ, "TNN_BUILD": str(tmp_path / "worker-build")}
    env.pop(cluster.ENV_VAR, None)
    logs = open(tmp_path / "dask.log", "w")
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                                  "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                                  "--no-dashboard", "--dashboard-address", "127.0.0.1:0"],
                                 env=env, stdout=logs, stderr=logs)
    worker = None
    try:
        worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                   "--nthreads", "1", "--no-dashboard", "--local-directory",
                                   str(tmp_path / "scratch")], env=env, cwd=tmp_path,
                                  stdout=logs, stderr=logs)
        from distributed import Client
        with Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(1, timeout=60)
        argv = [sys.executable, "-m", "sim.validate", "--model", tmp_path / "m.npz",
                "--inputs", tmp_path / "x.npy", "--reuse", 4, "--build", tmp_path / "work",
                "--out", tmp_path / "out.npy"]
        first = subprocess.run([*map(str, argv), "--cluster", address], capture_output=True,
                               text=True, env={**os.environ, "TNN_BUILD": str(tmp_path / "x")})
        assert first.returncode == 0, first.stderr
        summary = json.loads(first.stdout.strip().splitlines()[-1])
        want, _ = golden.forward(model, pixels)
        np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), want)
        assert summary["bit_exact"] == 20 and summary["workers"] == 1
        assert summary["sim_processes"] == 1
        (built,) = (tmp_path / "worker-build" / "sim").glob("sim-verilator-*/.tnn-built")
        assert not (tmp_path / "x").exists()  # the client's TNN_BUILD is not the worker's
        stamp = built.stat().st_mtime_ns
        second = subprocess.run(list(map(str, argv)), capture_output=True, text=True,
                                env={**os.environ, cluster.ENV_VAR: address})
        assert second.returncode == 0, second.stderr
        assert json.loads(second.stdout.strip().splitlines()[-1])["bit_exact"] == 20
        assert built.stat().st_mtime_ns == stamp  # the build was reused
    finally:
        if worker is not None:
            stop(worker)
        stop(scheduler)
        logs.close()


def test_a_failed_slice_is_named_with_its_images(tmp_path):
    """A testbench failure in one slice: exit 1, the slice's images named on stderr
    and in the summary, the other slice's images still compared, no outputs written."""
    rng = np.random.default_rng(29)
    save_model(tmp_path / "m.npz", random_binary_model(rng, [16, 8, 4], 0.5))
    np.save(tmp_path / "x.npy", rng.integers(0, 256, (16, 16), dtype=np.uint8))
    env = {**os.environ, "TNN_TB_FAIL_IMAGE": "9"}
    for name in (cluster.ENV_VAR, "PYTEST_CURRENT_TEST"):  # cocotb's runner exits under pytest
        env.pop(name, None)
    proc = subprocess.run([sys.executable, "-m", "sim.validate", "--model", str(tmp_path / "m.npz"),
                           "--inputs", str(tmp_path / "x.npy"), "--reuse", "4", "--jobs", "2",
                           "--build", str(tmp_path / "work"), "--out", str(tmp_path / "out.npy")],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    message = (rf"images 8\.\.15: the testbench failed \(1 of 1 tests\) on "
               rf"{re.escape(socket.gethostname())}; its files: .*/runs/images-8-\w+")
    (failure,) = summary["failed_slices"]
    assert re.fullmatch(message, failure)
    assert re.search(rf"^sim: failed: {message}$", proc.stderr, re.MULTILINE)
    assert (summary["failed_images"], summary["bit_exact"], summary["mismatches"]) == (8, 8, 8)
    assert "first_mismatch" not in summary
    assert not (tmp_path / "out.npy").exists()


def test_an_unreachable_cluster_is_bad_input(cli_files, capsys, monkeypatch):
    d, out = cli_files
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 2)
    address = f"tcp://127.0.0.1:{free_port()}"
    message = f"cluster: cannot connect to {address}: no scheduler answered within 2 s"
    refused(capsys, validate.main, ["--model", d / "m.npz", "--inputs", d / "x.npy",
                                    "--cluster", address, "--build", out / "work",
                                    "--out", out / "rtl.npy"], message, out)
    refused(capsys, sim_main.main, ["--model", d / "m.npz", "--cluster", address, "--out", out],
            message, out)
    monkeypatch.setenv(cluster.ENV_VAR, address)
    refused(capsys, bench.main, ["--configs", "tiny", "--out", out, "--models", d / "models",
                                 "--no-synth"], message, out)
    refused(capsys, methods.main, ["--family", "tiny", "--methods", "twn", "--out", out,
                                   "--models", d / "models"], message, out)
    with pytest.raises(InputError,
                       match="^cluster: cannot connect to bogus://nowhere: bad address: unknown"):
        cluster.check_address("bogus://nowhere")
