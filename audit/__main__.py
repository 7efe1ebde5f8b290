"""`python -m hostaudit` is the same as the `hostaudit` console script."""

import sys

from hostaudit.cli import main

sys.exit(main())
