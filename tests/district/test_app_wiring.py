"""What ``create_app`` wires explicitly (issue 21): every route module it names is registered, the workers are
plugged in through ``district.dispatch`` (an app made otherwise has none, and says so), and the exports' job parts
are run by the runner it registers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from district import dispatch
from district.app import create_app, route_modules


def test_every_named_route_module_is_registered(app: Any) -> None:
    modules = route_modules()
    assert len(modules) == len(set(modules)) == 17
    for module in modules:
        assert module.bp.name in app.blueprints, module.__name__
        assert app.blueprints[module.bp.name] is module.bp
    assert {r.rule for r in app.url_map.iter_rules()} >= {"/healthz", "/login", "/api/v1/reports"}


def test_an_app_without_workers_refuses_to_hand_work_over(tmp_path: Path) -> None:
    bare = Flask("bare", instance_path=str(tmp_path))
    with pytest.raises(RuntimeError, match="no workers are plugged into this app"):
        dispatch.start_pdf_job(bare, 1)
    with pytest.raises(RuntimeError, match="no workers are plugged into this app"):
        dispatch.hand_over_reminders(bare, [1])


def test_the_factory_plugs_the_workers_and_hands_itself_to_the_pdf_pool(app: Any) -> None:
    from workers.dispatch import Workers

    assert isinstance(app.extensions["houqin_dispatch"], Workers)
    assert app.extensions["houqin_factory"] is create_app
    dispatch.hand_over_reminders(app, [])  # nothing to hand over: the plugged workers send nothing, and say nothing
