"""Who is calling: a signed school agent, or a bureau user (Bearer token or signed-in session)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, request, session

from district.auth.models import User
from district.auth.services import (
    can_admin_county,
    can_see_county,
    can_see_school,
    check_token,
    record_token_use,
    session_user,
)
from district.db import db
from district.web.errors import ApiError

F = TypeVar("F", bound=Callable[..., Any])


def current_user() -> User | None:
    if "houqin.user" in request.environ:  # per request, not per app context
        return request.environ["houqin.user"]
    user: User | None = None
    header = request.headers.get("Authorization", "")
    s = db.session()
    if header.startswith("Bearer "):
        check = check_token(s, header[7:].strip())
        if check.row is not None:
            user = check.row.user
            record_token_use(check.row)
        else:
            request.environ["houqin.token_refusal"] = check.refusal
    elif session.get("user_id"):
        user = session_user(s, session)  # None once the user signed out elsewhere, was disabled or reset
    request.environ["houqin.user"] = user
    return user


#: Why a presented token was refused (``auth.services.check_token``), as the API's 401 says it.
_TOKEN_REFUSALS = {
    "expired": ("token_expired", "访问令牌已过期，请重新创建 / the token has expired: make a new one"),
    "disabled": ("account_disabled", "账号已停用 / the account is disabled"),
}


def bureau_required(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            refusal = _TOKEN_REFUSALS.get(request.environ.get("houqin.token_refusal", ""))
            if refusal is not None:
                raise ApiError(401, *refusal)
            raise ApiError(401, "unauthenticated", "需要登录或有效的访问令牌 / sign in or send a valid token")
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def not_found() -> ApiError:
    return ApiError(404, "not_found", "未找到 / not found")


def require_county(county_code: str) -> User:
    user = current_user()
    assert user is not None
    if not can_see_county(db.session(), user, county_code):
        raise not_found()
    return user


def require_county_admin(county_code: str) -> User:
    user = require_county(county_code)
    if not can_admin_county(db.session(), user, county_code):
        raise ApiError(403, "forbidden", "需要县级管理员权限 / county_admin required")
    return user


def require_school(school_code: str) -> User:
    user = current_user()
    assert user is not None
    if not can_see_school(db.session(), user, school_code):
        raise not_found()
    return user


def config(name: str) -> Any:
    return current_app.config[name]
