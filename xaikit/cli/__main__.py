"""``python -m xaikit.cli``: the ``xaikit`` command."""

import sys

from . import main

sys.exit(main())
