"""``python -m latentwire`` runs the ``latentwire`` command line."""

import sys

from latentwire.cli import main

if __name__ == "__main__":
    sys.exit(main())
