"""``python -m xaikit.beam``: run the example pipeline (see :mod:`xaikit.beam`)."""

import sys

from .pipeline import main

sys.exit(main())
