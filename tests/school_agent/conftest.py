"""Fixtures for the school agent: a real hub on a loopback port, configured agent homes, unique periods.

The hub is the real thing (``python3 -m district serve`` on a migrated SQLite instance); the agent talks to it
over HTTP only. One instance is prepared per session (migrations, two schools, credentials) and copied for each
hub, so a hub starts in about a second. Tests that stop or kill the hub get their own (``hub_factory``); the
others share one and keep apart by using periods nobody else uses (``next_period``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from houqin_standard import current_period, period_add
from tests.school_agent.hubproc import SCHOOL, Hub, prepare_instance, setup_agent

_periods = itertools.count(1)


@pytest.fixture(scope="session")
def hub_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hub-template") / "instance"
    prepare_instance(path)
    return path


@pytest.fixture(scope="session")
def shared_hub(hub_instance: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    hub = Hub.from_template(hub_instance, tmp_path_factory.mktemp("shared-hub") / "instance")
    hub.start()
    yield hub
    hub.stop()


@pytest.fixture()
def hub_factory(hub_instance: Path, tmp_path: Path) -> Iterator[Callable[..., Hub]]:
    """Make a private hub (not started): ``hub_factory(port=..., **HOUQIN_env)``."""
    made: list[Hub] = []

    def make(**kw: Any) -> Hub:
        hub = Hub.from_template(hub_instance, tmp_path / f"hub{len(made)}", **kw)
        made.append(hub)
        return hub

    yield make
    for hub in made:
        hub.stop()


@pytest.fixture()
def next_period() -> Callable[[], str]:
    """A period no other test in this session uses: 2015-01, 2015-02, … (all in the past, all accepted)."""

    def make() -> str:
        p = period_add("2014-12", next(_periods))
        assert p < current_period()
        return p

    return make


@pytest.fixture()
def agent_home(tmp_path: Path, shared_hub: Hub) -> Path:
    home = tmp_path / "agent"
    setup_agent(home, shared_hub, SCHOOL)
    return home


@pytest.fixture()
def offline_home(tmp_path: Path) -> Path:
    """An agent configured for a hub address where nothing listens (bad-input tests never reach it)."""
    import json

    home = tmp_path / "agent-offline"
    home.mkdir()
    cfg = {
        "hub_url": "http://127.0.0.1:9",
        "school_code": SCHOOL,
        "secret": "s" * 43,
        "school_name": "庄里镇中心小学",
        "clerk": "李总务",
    }
    (home / "config.json").write_text(json.dumps(cfg, ensure_ascii=False), encoding="utf-8")
    (home / "config.json").chmod(0o600)
    return home
