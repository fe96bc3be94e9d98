"""Validation issues (错误与提示): the one shape for errors and warnings alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Issue:
    """One error or warning about a report.

    ``path`` is a JSON pointer ("/nutrition/meals_served"; "" is the whole report), ``code`` a stable
    machine name (see ``messages.ERROR_CODES`` / ``messages.WARNING_CODES``), ``zh``/``en`` the message.
    """

    path: str
    code: str
    zh: str
    en: str

    def message(self, lang: str = "zh") -> str:
        return self.en if str(lang or "").lower().startswith("en") else self.zh

    def to_dict(self, lang: str = "zh") -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message(lang)}


@dataclass
class ValidationResult:
    """All errors (the report is rejected, HTTP 422) and warnings (accepted, kept with the revision)."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        return {
            "ok": self.ok,
            "errors": [i.to_dict(lang) for i in self.errors],
            "warnings": [i.to_dict(lang) for i in self.warnings],
        }
