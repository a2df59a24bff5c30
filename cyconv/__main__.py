"""``python -m cyconv``: the same command line as the ``cyconv`` script."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
