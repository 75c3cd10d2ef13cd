"""`python -m gui [FILE] [--screenshot OUT.png]`."""

import sys

from gui.app import main

sys.exit(main())
