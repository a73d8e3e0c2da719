"""`python -m lrfp`: the same as the `lrfp` command."""

import sys

from lrfp.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
