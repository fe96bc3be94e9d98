"""What the ``houqin`` commands share: ``Context``, whose ``app`` is made on first use by the factory the entry
point (``district.cli.main``) hands it. A domain package's ``cli.py`` takes its app from here (``app()``), never by
importing ``district.cli`` or ``district.app``, which import every package (docs/ARCHITECTURE.md, the layers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


class Context:
    def __init__(self, factory: Callable[[], Any] | None = None) -> None:
        self.factory = factory
        self._app: Any = None

    @property
    def app(self) -> Any:
        if self._app is None:
            from district.config import ConfigError

            if self.factory is None:
                raise click.ClickException("no app: run the command through `houqin` (district.cli.main)")
            try:
                self._app = self.factory()
            except ConfigError as exc:  # a malformed setting: one line naming it, not a traceback
                raise click.ClickException(str(exc)) from None
        return self._app


def app() -> Any:
    """The app of the running ``houqin`` command."""
    return click.get_current_context().ensure_object(Context).app
