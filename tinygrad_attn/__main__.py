"""`python -m tinygrad_attn ...` runs the `tinygrad-attn` command."""

import sys

from .cli import main

sys.exit(main())
