"""The agent's wall clock for signature timestamps.

Old school PCs often keep the wrong time, and a timestamp more than 300 s from the hub's clock is refused.
``HOUQIN_AGENT_CLOCK_OFFSET`` (seconds, may be negative) corrects it where the PC's clock cannot be fixed;
``houqin demo`` uses it to replay a school year on the hub's demo clock.
"""

from __future__ import annotations

import os
import time


def offset() -> float:
    try:
        return float(os.environ.get("HOUQIN_AGENT_CLOCK_OFFSET", "0") or 0)
    except ValueError:
        return 0.0


def wall() -> float:
    """Unix seconds as the hub should see them."""
    return time.time() + offset()
