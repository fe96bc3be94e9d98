"""The scope matrix: every role × every page and API route of the app × in scope and out of scope.

Routes are read from ``app.url_map``, so a route added later is walked too. Every URL argument must be known
to ``ARGUMENTS`` below (the test fails on an unknown one, naming it): for each role it gives a value inside the
role's scope and one outside it. Out of scope answers 404 and shows nothing of the object; in scope answers
anything but 404 and never a server error. Pages are visited with the signed-in session (CSRF token included
on POST), API routes with the user's personal Bearer token.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.district.dashboard.conftest import page_csrf, sign_in, submit

UTC = dt.UTC
ROLES = ("city", "admin", "viewer", "school", "township")

# Names an out-of-scope answer must never show.
FOREIGN_NAMES = ("蒲城县", "金台区", "蒲城县城关小学", "金台区东风路小学", "庄里镇初级中学", "城关新区小学")

# Routes that are not about any object (nothing to be in or out of scope of), and the agents' signed routes.
UNSCOPED = {
    "/",
    "/counties",
    "/login",
    "/logout",
    "/language",
    "/account/tokens",
    "/downloads",  # the user's own PDF jobs only (test_dashboard_downloads.py)
    "/api/v1/jobs",  # the same list (test_rendering_jobs.py: a colleague's and another county's are not listed)
    "/api/v1/openapi.json",
    "/api/v1/hub-keys",
    "/static/<path:filename>",
    "/verify/<sha256>",  # public by design: a PDF's printed hash says whether this hub made it
    "/healthz",
    "/schools",  # the school search: its results are filtered by scope (test_search_exports.py)
    "/api/v1/schools",
}
# the signed agent endpoints (a bureau user's cookie or token is not an agent's signature: 401)
AGENT_ONLY = {
    "/api/v1/reports",
    "/api/v1/reports/<report_id>",
    "/api/v1/feedback",
    "/api/v1/period-state",
    "/api/v1/last-report",
}


@dataclass
class World:
    """What the arguments resolve against: the users' own token ids, and one token of somebody else."""

    token_ids: dict[str, int]
    foreign_token_id: int
    report_id: str
    report_ids: dict[str, str]  # school code -> the report_id of one of its revisions (the review routes)
    job_in: int  # a PDF job of 6105280001 (every role sees that school), rendered: it has a file
    jobs_out: dict[str, int]  # per role, a job of a school outside its scope
    file_name: str


def _county(role: str, inside: bool) -> str:
    if role == "school":  # a school viewer sees no county page at all, not even its own county's
        return "610528" if inside else "610526"
    if role == "city":
        return "610528" if inside else "610303"  # 金台区 is in another city
    return "610528" if inside else "610526"  # 蒲城县: same city, another county


def _school(role: str, inside: bool) -> str:
    if role == "school":
        return "6105280001" if inside else "6105280002"  # the same county's other school
    if role == "city":
        return "6105280001" if inside else "6103030001"
    if role == "township":  # 庄里镇's school; 城关新区小学 is of 城关街道, the same county's other township
        return "6105280001" if inside else "6105280004"
    return "6105280001" if inside else "6105260001"


# argument name -> (role, inside, world) -> value. A role with no inside value for an argument (a school
# viewer and counties) is expected to get 404 in both columns.
ARGUMENTS: dict[str, Callable[[str, bool, World], str]] = {
    "county": lambda role, inside, w: _county(role, inside),
    "code": lambda role, inside, w: _school(role, inside),
    "school": lambda role, inside, w: _school(role, inside),
    "period": lambda role, inside, w: "2026-09",
    "action": lambda role, inside, w: "lock",
    "token_id": lambda role, inside, w: str(w.token_ids[role] if inside else w.foreign_token_id),
    # agent routes: users get 401 whatever the id; the review routes: a revision of a school in or out of scope
    "report_id": lambda role, inside, w: w.report_ids[_school(role, inside)],
    "job_id": lambda role, inside, w: str(w.job_in if inside else w.jobs_out[role]),
    "name": lambda role, inside, w: w.file_name,
    "city": lambda role, inside, w: "610500" if inside else "610300",  # 渭南市; 宝鸡市 holds only 金台区
}
COUNTY_OF = {
    "6105280001": "610528",
    "6105280002": "610528",
    "6105280004": "610528",
    "6105260001": "610526",
    "6103030001": "610303",
}

# Routes whose object is named in the body: the county in the path is the named school's.
BODY_OBJECT_ROUTES = {"/api/v1/counties/<county>/reports/pdf"}
# (role, argument): the role has nothing in scope of that kind (a 学区 sees no county's aggregates in a city's)
NO_INSIDE = {("school", "county"), ("school", "city"), ("township", "city")}

# Deviations from the rule that live in other packages' code, reported to their owners; the matrix xfails
# (naming them) while they remain, and fails on anything else.
KNOWN_DEVIATIONS: dict[tuple[str, str, str, str], str] = {}

JSON_BODIES: dict[str, Callable[[str, bool], dict[str, Any]]] = {
    "/api/v1/schools/<code>/inspections":
        lambda role, inside: {"date": "2026-10-10", "score": 4.5, "inspector": "督导 李", "notes": ""},
    "/api/v1/periods/<county>/<period>/lock": lambda role, inside: {"note": "matrix"},
    "/api/v1/reports/<report_id>/review": lambda role, inside: {"decision": "approved"},
    "/api/v1/counties/<county>/reports/pdf":
        lambda role, inside: {"school": _school(role, inside), "from": "2026-09", "to": "2026-09"},
}  # fmt: skip


def _build(rule: Any, role: str, inside: bool, world: World) -> str:
    values = {}
    for arg in rule.arguments:
        if arg not in ARGUMENTS:
            pytest.fail(f"{rule.rule}: unknown URL argument <{arg}>; add it to ARGUMENTS in {__file__}")
        values[arg] = ARGUMENTS[arg](role, inside, world)
    if rule.rule in BODY_OBJECT_ROUTES:
        values["county"] = COUNTY_OF[_school(role, inside)]
    path = rule.rule
    for arg, value in values.items():
        for conv in ("", "int:", "string:", "path:"):
            path = path.replace(f"<{conv}{arg}>", value)
    return path


def _routes(app: Any) -> list[tuple[Any, str]]:
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule in UNSCOPED:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule, method))
    return out


def _request(
    client: Any, rule: Any, method: str, path: str, role: str, tokens: dict[str, str], csrf: str, inside: bool
) -> Any:
    if rule.rule.startswith("/api/"):
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        if method == "GET":
            return client.get(path, headers=headers)
        body = JSON_BODIES[rule.rule](role, inside) if rule.rule in JSON_BODIES else {}
        return client.open(path, method=method, headers=headers, json=body)
    if method == "GET":
        return client.get(path)
    data = {
        "csrf_token": csrf,
        "note": "matrix",
        "date": "2026-10-10",
        "score": "4.5",
        "inspector": "督导 李",
        "notes": "",
    }
    return client.open(path, method=method, data=data)


@pytest.fixture()
def world(app: Any, client: Any, session: Any, users: dict[str, Any], tmp_path: Any) -> Any:
    from district.auth.services import create_token, create_user
    from district.rendering.jobs import create_job
    from district.scoring.engine import Window

    receipt = submit(session, "6105280001", "2026-09", dt.datetime(2026, 10, 3, tzinfo=UTC))
    report_ids = {"6105280001": receipt.report_id}
    for code in ("6105280002", "6105260001", "6103030001"):
        report_ids[code] = submit(session, code, "2026-09", dt.datetime(2026, 10, 3, tzinfo=UTC)).report_id
    # 城关新区小学 opened in 2026-10: its first month
    report_ids["6105280004"] = submit(session, "6105280004", "2026-10", dt.datetime(2026, 11, 3, tzinfo=UTC)).report_id
    # a visit of the in-scope school, so that its 督查记录 PDF exists for every role that sees the school
    from district.scoring.inspections import record_inspection

    record_inspection(session, "6105280001", date="2026-10-12", score="4.5", inspector="县局督导", actor="matrix")
    from sqlalchemy import select

    from district.auth.models import ApiToken

    # one token each for the revoke route to revoke, another to call the API with
    ids = {}
    for role in ROLES:
        create_token(session, users[role], "to revoke")
        ids[role] = session.scalars(select(ApiToken.id).where(ApiToken.user_id == users[role].id)).one()
    tokens = {role: create_token(session, users[role], "matrix") for role in ROLES}
    stranger = create_user(session, "stranger", "correct horse battery", "county_admin", scope="610526")
    create_token(session, stranger, "theirs")
    foreign = session.scalars(select(ApiToken.id).where(ApiToken.user_id == stranger.id)).one()
    session.flush()
    # the PDF jobs: for each role one of a school outside its scope (planned only: its scope check comes
    # first), then one rendered through the API (on the embedded default the request renders it). The API
    # call is the last database work here: its eager tasks replace the thread's session.
    window = Window("2026-09", "2026-09")
    jobs_out = {}
    for role in ROLES:
        code = _school(role, False)
        expected = Window("2026-10", "2026-10") if code == "6105280004" else window  # opened in 2026-10
        jobs_out[role] = create_job(session, COUNTY_OF[code], expected, requested_by="matrix", school_code=code).id
    setup = {"Authorization": f"Bearer {create_token(session, users['admin'], 'setup')}"}
    session.flush()
    saved_pdf_dir = app.config["PDF_DIR"]
    app.config["PDF_DIR"] = str(tmp_path / "pdf")  # job ids repeat once a test's rows are rolled back
    made = client.post(
        "/api/v1/counties/610528/reports/pdf",
        headers=setup,
        json={"school": "6105280001", "from": "2026-09", "to": "2026-09"},
    )
    assert made.status_code == 202 and made.json["state"] == "done", made.json
    world = World(
        ids, foreign, receipt.report_id, report_ids, made.json["job_id"], jobs_out, made.json["files"][0]["name"]
    )
    yield world, tokens
    app.config["PDF_DIR"] = saved_pdf_dir


@pytest.mark.parametrize("role", ROLES)
def test_scope_matrix(
    app: Any, client: Any, session: Any, users: dict[str, Any], world: tuple[World, dict[str, str]], role: str
) -> None:
    w, tokens = world
    assert sign_in(client, role).status_code == 302
    csrf = page_csrf(client)
    routes = _routes(app)
    assert len(routes) >= 20  # the walk really covers the app
    problems: list[str] = []
    known: list[str] = []

    def problem(text: str, rule: Any, method: str, column: str) -> None:
        reason = KNOWN_DEVIATIONS.get((role, method, rule.rule, column))
        (known if reason else problems).append(f"{text} — {reason}" if reason else text)

    for rule, method in routes:
        if rule.rule in AGENT_ONLY:
            resp = _request(client, rule, method, _build(rule, role, True, w), role, tokens, csrf, True)
            resp.close()
            if resp.status_code != 401:
                problems.append(
                    f"{method} {rule.rule}: a bureau user must not pass as a school agent ({resp.status_code})"
                )
            continue
        no_inside = rule.rule not in BODY_OBJECT_ROUTES and any((role, arg) in NO_INSIDE for arg in rule.arguments)
        outside = _build(rule, role, False, w)
        resp = _request(client, rule, method, outside, role, tokens, csrf, False)
        body = resp.get_data(as_text=True)
        resp.close()
        if resp.status_code != 404:
            problem(f"{method} {outside} (out of scope): {resp.status_code}, not 404", rule, method, "out")
        leaked = [n for n in FOREIGN_NAMES if n in body]
        if leaked:
            problem(f"{method} {outside} (out of scope) shows {leaked}", rule, method, "out")
        inside = _build(rule, role, True, w)
        resp = _request(client, rule, method, inside, role, tokens, csrf, True)
        resp.close()  # a file download is streamed from disk
        if no_inside:
            if resp.status_code != 404:
                problem(
                    f"{method} {inside} (nothing in scope for {role}): {resp.status_code}, not 404", rule, method, "in"
                )
        elif resp.status_code in (401, 404) or resp.status_code >= 500:
            problem(f"{method} {inside} (in scope): {resp.status_code}", rule, method, "in")
    assert not problems, "\n".join(problems)
    if known:
        pytest.xfail("known deviations in other packages: " + "; ".join(known))


def test_matrix_knows_every_argument(app: Any) -> None:
    unknown = sorted(
        {
            (r.rule, a)
            for r in app.url_map.iter_rules()
            for a in r.arguments
            if r.rule not in UNSCOPED and r.rule not in AGENT_ONLY and a not in ARGUMENTS
        }
    )
    assert not unknown, f"add these URL arguments to the scope matrix: {unknown}"


def test_anonymous_gets_the_sign_in_page_or_401(
    app: Any, client: Any, session: Any, world: tuple[World, dict[str, str]]
) -> None:
    anonymous = app.test_client()
    for rule, method in _routes(app):
        if method != "GET" or rule.rule in AGENT_ONLY:
            continue
        path = _build(rule, "admin", True, world[0])
        resp = anonymous.get(path)
        resp.close()
        if rule.rule.startswith("/api/"):
            assert resp.status_code == 401, (path, resp.status_code)
        else:
            assert resp.status_code == 302 and "/login?next=" in resp.headers["Location"], (path, resp.status_code)
