"""``python -m m2mrsp`` and the ``m2mrsp`` command."""

import sys

from m2mrsp.errors import NativeUnavailableError


def console() -> int:
    """Run the CLI; a bad ``M2MRSP_NATIVE``, read when the package loads, is one line too."""
    try:
        from m2mrsp.cli import main
    except (NativeUnavailableError, ValueError) as err:
        sys.stderr.write(f"m2mrsp: error: {err}\n")
        return 1
    return main()


if __name__ == "__main__":
    sys.exit(console())
