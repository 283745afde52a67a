"""``python -m sw.interop``: see :mod:`sw.interop.cli`."""

import sys

from .cli import main

sys.exit(main())
