"""`python -m hostaudit` is the same as the `hostaudit` console script."""

import sys

from hostaudit.cli import main

# Guarded: a worker process of the file walk (forkserver) imports the main module again.
if __name__ == "__main__":
    sys.exit(main())
