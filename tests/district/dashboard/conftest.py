"""Dashboard fixtures: one user per role, signing in through the real /login form (CSRF included)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.factories import submit

__all__ = ["submit"]  # the dashboard tests' ``submit``: tests/factories.py

PASSWORD = "correct horse battery"
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = TOKEN_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: Any, username: str, password: str = PASSWORD, **extra: str) -> Any:
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token, **extra})


def page_csrf(client: Any, path: str = "/account/tokens") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


@pytest.fixture(autouse=True)
def _fresh_login_limits(app: Any) -> Any:
    from district.auth.signin import reset_limiters

    with app.app_context():
        reset_limiters()
    yield


@pytest.fixture(autouse=True)
def _empty_dashboard_caches() -> None:
    from district.dashboard import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with the smallest cost: the tests sign in hundreds of times."""
    from argon2 import PasswordHasher

    from district.auth import services

    monkeypatch.setattr(services, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture()
def other_county(session: Any, county: Any) -> Any:
    """蒲城县 610526 in the same city, with one school, and 华州区 610503 in another city."""
    from district.registry.models import City, County, School, Township

    session.add(County(code="610526", city_code="610500", name="蒲城县"))
    session.add(City(code="610300", name="宝鸡市"))
    session.add(County(code="610303", city_code="610300", name="金台区"))
    session.flush()
    t = Township(county_code="610526", name="城关镇")
    t2 = Township(county_code="610303", name="东风路街道")
    session.add_all([t, t2])
    session.flush()
    session.add(
        School(
            code="6105260001",
            name="蒲城县城关小学",
            county_code="610526",
            township_id=t.id,
            type="primary",
            boarding=False,
        )
    )
    session.add(
        School(
            code="6103030001",
            name="金台区东风路小学",
            county_code="610303",
            township_id=t2.id,
            type="primary",
            boarding=False,
        )
    )
    session.flush()
    return session.get(County, "610526")


@pytest.fixture()
def users(session: Any, county: Any, other_county: Any) -> dict[str, Any]:
    from district.auth.services import create_user

    return {
        "city": create_user(session, "city", PASSWORD, "city_admin", scope="610500", display_name="市局管理员"),
        "admin": create_user(session, "admin", PASSWORD, "county_admin", scope="610528", display_name="富平县管理员"),
        "viewer": create_user(session, "viewer", PASSWORD, "county_viewer", scope="610528"),
        "school": create_user(session, "school", PASSWORD, "school_viewer", scope="6105280001"),
        # 学区 (issue 18): 庄里镇 of 610528 (6105280001, 6105280002); 城关街道's schools are outside it
        "township": create_user(session, "township", PASSWORD, "township_admin", scope="610528/庄里镇"),
    }


@contextmanager
def config(app: Any, **values: Any) -> Iterator[None]:
    """The app's settings changed for a block (the sign-in limiters made anew), then put back."""
    from district.auth.signin import reset_limiters

    old = {k: app.config.get(k) for k in values}
    app.config.update(values)
    reset_limiters()
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                app.config.pop(k, None)
            else:
                app.config[k] = v
        reset_limiters()
