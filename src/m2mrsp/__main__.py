"""``python -m m2mrsp``: the same as the ``m2mrsp`` command."""

import sys

from m2mrsp.cli import main

sys.exit(main())
