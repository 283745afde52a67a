"""Generate the project's Verilog.

``python -m hw.generate --out build/verilog`` writes:

* ``decompressor.v``: module ``decompressor``, the RLE decompressor
  (:class:`hw.decompressor.Decompressor`) with a run-time ``load`` write port,
  run field ``--field-width`` bits, rows up to ``--n-cols`` wide and
  ``--depth`` words of weight memory.
"""

from __future__ import annotations

import argparse
import sys

from .decompressor import Decompressor
from .verilog import write_verilog


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m hw.generate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="build/verilog", help="output folder (default %(default)s)")
    p.add_argument("--field-width", type=int, default=4, help="RLE run field width G (default %(default)s)")
    p.add_argument("--n-cols", type=int, default=1024, help="widest row (default %(default)s)")
    p.add_argument("--depth", type=int, default=4096, help="weight memory words (default %(default)s)")
    args = p.parse_args(argv)
    for name in ("field_width", "n_cols", "depth"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')}: must be >= 1, got {getattr(args, name)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    dut = Decompressor(field_width=args.field_width, n_cols=args.n_cols,
                       depth=args.depth, writable=True)
    path = write_verilog(dut, "decompressor", args.out)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
