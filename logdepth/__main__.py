"""`python -m logdepth` runs the CLI."""

import sys

from logdepth.cli import main

sys.exit(main())
