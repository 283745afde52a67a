"""hw.pixel_scan.PixelScan against a Python walk of the same pool windows."""

import pytest
from amaranth.sim import Simulator

from hw.pixel_scan import PixelScan


def expected_scan(hq, wq, ph, pw, sy, sx, wp, out_first, out_pad_x, out_pad_y, rows, group):
    """Per walk: (pix_base, window_first, window_last, last_pixel, out_addr, oy, ox,
    mask) of slot 0, walks serving ``group`` windows side by side along x."""
    out_wp = wq + 2 * out_pad_x
    addr = out_first
    visits = []
    groups = -(-wq // group)
    for _ in range(rows):
        for qy in range(hq):
            for gq in range(groups):
                qx = gq * group
                width = min(group, wq - qx)
                for dy in range(ph):
                    for dx in range(pw):
                        oy, ox = qy * ph + dy, qx * pw + dx
                        visits.append((oy * sy * wp + ox * sx, dx == 0 and dy == 0,
                                       dx == pw - 1 and dy == ph - 1,
                                       qy == hq - 1 and gq == groups - 1 and dy == ph - 1 and dx == pw - 1,
                                       addr, oy, ox, (1 << width) - 1))
                addr += width
            addr += 2 * out_pad_x
        addr += 2 * out_pad_y * out_wp
    return visits


@pytest.mark.parametrize("hq,wq,ph,pw,sy,sx,wp,pads,group", [
    (3, 2, 2, 2, 1, 1, 9, (1, 1), 1),
    (2, 3, 1, 1, 2, 2, 11, (0, 0), 1),
    (1, 1, 3, 2, 1, 3, 7, (2, 0), 1),
    (4, 1, 1, 3, 2, 1, 5, (0, 1), 1),
    (3, 5, 2, 2, 1, 1, 13, (1, 1), 2),   # a short last group
    (2, 7, 1, 1, 2, 2, 17, (0, 2), 3),
    (2, 4, 1, 2, 1, 1, 12, (1, 0), 4),   # one full group per row
    (2, 2, 2, 1, 1, 2, 9, (0, 0), 3),    # a group wider than the row
])
def test_scan_visits_pool_windows_in_order(hq, wq, ph, pw, sy, sx, wp, pads, group):
    py, px = pads
    out_wp = wq + 2 * px
    groups = -(-wq // group)
    last = wq - (groups - 1) * group
    ys = [7 * oy for oy in range(hq * ph)]      # class offsets: distinct, so any mix-up shows
    xs = [100 * ox for ox in range(groups * group * pw)]
    out_first = 500 + py * out_wp + px
    dut = PixelScan(addr_width=12, count_width=4, y_classes=ys, x_classes=xs, const_width=13,
                    group=group)
    rows = 2
    want = expected_scan(hq, wq, ph, pw, sy, sx, wp, out_first, px, py, rows, group)
    got = []

    async def bench(ctx):
        g = dut.geometry
        for name, v in dict(last_dx=pw - 1, last_dy=ph - 1, last_qx=groups - 1, last_qy=hq - 1, step_x=sx,
                            back_x=(pw - 1) * sx, step_y=sy * wp, back_y=(ph - 1) * sy * wp,
                            step_q=sx + (group - 1) * pw * sx, ox_step_q=1 + (group - 1) * pw, pe_ox=pw,
                            ycls_base=0, xcls_base=0, out_first=out_first, out_step=group,
                            out_row_step=last + 2 * px, out_chan_step=last + 2 * px + 2 * py * out_wp,
                            last_mask=(1 << last) - 1).items():
            ctx.set(getattr(g, name), v)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for i in range(len(want)):
            got.append((ctx.get(dut.pix_base), bool(ctx.get(dut.window_first)),
                        bool(ctx.get(dut.window_last)), bool(ctx.get(dut.last_pixel)),
                        ctx.get(dut.out_addr), [ctx.get(dut.cls_off[p]) for p in range(group)],
                        ctx.get(dut.mask)))
            ctx.set(dut.advance, 1)
            await ctx.tick()
            ctx.set(dut.advance, 0)
            if i % 3 == 1:  # idle cycles change nothing
                await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert got == [(b, f, l, e, a, [ys[oy] + xs[ox + p * pw] for p in range(group)], k)
                   for b, f, l, e, a, oy, ox, k in want]
