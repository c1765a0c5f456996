"""``python -m compressor`` runs the ``latentwire`` command line."""

import sys

from compressor.cli import main

if __name__ == "__main__":
    sys.exit(main())
