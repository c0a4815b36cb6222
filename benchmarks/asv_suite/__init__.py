"""asv benchmark suite of m2mrsp (``benchmark_dir`` in ../../asv.conf.json).

``M2MRSP_NATIVE=1`` sits in asv.conf.json's matrix so that a broken C build fails asv's build
step. At run time the suite asks for each back-end by name, and a commit built without the
native back-end must still import so that its Python rows are measured (its native rows are
skipped), so the variable is dropped here, before anything imports m2mrsp.
"""

import os
import sys

os.environ.pop("M2MRSP_NATIVE", None)

try:
    from m2mrsp import backend as _backend
except ImportError as _err:  # a commit too old to have back-end selection
    sys.stderr.write(f"m2mrsp asv suite: no back-end selection ({_err})\n")
else:
    sys.stderr.write(
        f"m2mrsp asv suite: back-ends {', '.join(_backend.available())}"
        f"{'' if _backend.HAS_NATIVE else f'; native skipped: {_backend.NATIVE_ERROR}'}\n"
    )
