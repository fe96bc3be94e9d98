"""Alembic is the only way the schema is made; the models must agree with it (warehouse's db-check)."""

from __future__ import annotations

from typing import Any

from district.migrate import schema_diff


def test_models_and_migrations_agree(engine: Any) -> None:
    assert schema_diff(engine) == []
