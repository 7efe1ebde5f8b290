"""`python -m audit` is the same as the `hostaudit` console script."""

import sys

from audit.cli import main

sys.exit(main())
