"""The paper's effective-throughput model (cost/throughput.py)."""

import math

import pytest

from cost.throughput import (DEVICES, PAPER, Cost, breakeven_gamma, effective_cost,
                             effective_tops, paper_printed, peak_tops)
from sw.errors import InputError

KU115 = DEVICES["ku115"]


def test_paper_peaks_to_the_first_decimal():
    binary = peak_tops(KU115, PAPER.xnor_mac)
    float_ = peak_tops(KU115, PAPER.float_mac)
    assert binary == pytest.approx(0.7 * 663_360 / 5 * 250e6 * 2 / 1e12)
    assert float_ == pytest.approx(5_520 / 2 * 250e6 * 2 / 1e12)
    assert paper_printed(binary) == 46.4
    assert paper_printed(float_) == 1.3


def test_paper_device_figures():
    assert (KU115.luts, KU115.dsps, KU115.clock_hz) == (663_360, 5_520, 250e6)
    assert KU115.usable_luts == 464_352
    assert len(DEVICES) >= 4
    for dev in DEVICES.values():
        assert dev.luts > 0 and dev.dsps > 0 and "UltraScale" in dev.family


def test_effective_cost_formula():
    c_op, c_d = 5 / 464_352, 112 / 464_352
    assert effective_cost(0.1, c_op, c_d, 8) == pytest.approx(0.1 * (c_op + c_d / 8))
    t = effective_tops(KU115, PAPER.xnor_mac, PAPER.decoder, gamma=0.1, reuse=8)
    assert t == pytest.approx(2 * 250e6 / (0.1 * (c_op + c_d / 8)) / 1e12)


@pytest.mark.parametrize("mac", [PAPER.xnor_mac, PAPER.float_mac, Cost(luts=34), Cost(luts=7, dsps=1)])
def test_monotonic_in_reuse_and_gamma(mac):
    reuses = [1, 2, 3, 8, 32, 256, 1e6]
    gammas = [0.01, 0.05, 0.2, 0.5, 1.0]
    for g in gammas:
        ts = [effective_tops(KU115, mac, PAPER.decoder, g, r) for r in reuses]
        assert all(a < b for a, b in zip(ts, ts[1:]))
        assert ts[-1] < peak_tops(KU115, mac) / g
    for r in reuses:
        ts = [effective_tops(KU115, mac, PAPER.decoder, g, r) for g in gammas]
        assert all(a > b for a, b in zip(ts, ts[1:]))


def test_breakeven_gamma_matches_dense_baseline():
    for r in (1, 8, 64):
        g = breakeven_gamma(KU115, PAPER.xnor_mac, PAPER.decoder, r)
        assert effective_tops(KU115, PAPER.xnor_mac, PAPER.decoder, g, r) == pytest.approx(
            peak_tops(KU115, PAPER.xnor_mac))


@pytest.mark.parametrize("gamma", [0, -0.5, 1.01, math.nan])
def test_bad_gamma_is_refused(gamma):
    with pytest.raises(InputError, match=rf"^gamma: must be in \(0, 1\], got {gamma!r}$"):
        effective_tops(KU115, PAPER.xnor_mac, PAPER.decoder, gamma, 8)


@pytest.mark.parametrize("reuse", [0, 0.5, -3, math.nan])
def test_bad_reuse_is_refused(reuse):
    with pytest.raises(InputError, match=rf"^reuse: R must be >= 1, got {reuse!r}$"):
        effective_tops(KU115, PAPER.xnor_mac, PAPER.decoder, 0.5, reuse)
