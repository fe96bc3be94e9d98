"""Where the dashboard gets the figures it does not own: the scoring service (rankings, indicator rows,
campaign progress, inspections) and the fund-report service. The dashboard computes none of them.

Each function returns ``None`` when the service is not installed in this build, and the page shows that the
figures are not available yet (never a figure of its own making).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


def _service(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module.startswith(exc.name):
            raise
        return None


def scoring() -> ModuleType | None:
    return _service("district.scoring.services")


def nutrition() -> ModuleType | None:
    return _service("district.nutrition.services")


def has(module: ModuleType | None, name: str) -> bool:
    return module is not None and callable(getattr(module, name, None))


def call(module: ModuleType | None, name: str, *args: Any, **kwargs: Any) -> Any:
    if not has(module, name):
        return None
    return getattr(module, name)(*args, **kwargs)
