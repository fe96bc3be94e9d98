"""``python -m school_agent`` is ``houqin-agent``."""

import sys

from school_agent.cli import main

sys.exit(main())
