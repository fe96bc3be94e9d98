"""The OpenAPI document: generated from code, valid OpenAPI 3.1, matching the app's routes, and true of the
running app (schemathesis: no server error, documented status codes, documented response bodies)."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from district.api import openapi
from houqin_standard import HAZARD_FIELDS, HEADER_FIELDS, SECTIONS, signed_headers
from tests.conftest import SignedClient, example_report

DOC: dict[str, Any] = json.loads(openapi.OPENAPI_PATH.read_text(encoding="utf-8"))
DOCUMENTED = sorted((path, method.upper()) for path, item in DOC["paths"].items() for method in item)
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
AGENT_SCHOOL = "6105280001"


# ------------------------------------------------------------------------------------------ the document


def test_committed_document_is_the_generated_one() -> None:
    assert openapi.OPENAPI_PATH.read_text(encoding="utf-8") == openapi.render(), (
        "district/api/openapi.json is stale: run `python3 -m district.api.openapi`"
    )


def test_document_is_valid_openapi_3_1() -> None:
    assert DOC["openapi"].startswith("3.1")
    validate_openapi(DOC)


def test_the_hub_serves_the_document(client: Any) -> None:
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert resp.get_json() == DOC


def _flask_operations(app: Any) -> set[tuple[str, str]]:
    ops = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        ops |= {(path, m) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    return ops


@pytest.mark.parametrize(("path", "method"), DOCUMENTED, ids=[f"{m} {p}" for p, m in DOCUMENTED])
def test_documented_operation_is_served(app: Any, path: str, method: str) -> None:
    if (path, method) not in _flask_operations(app):
        pytest.skip(f"{method} {path} is documented but not registered in this build (yet)")


def test_every_registered_api_route_is_documented(app: Any) -> None:
    undocumented = _flask_operations(app) - set(DOCUMENTED)
    assert not undocumented, f"routes missing from the OpenAPI document: {sorted(undocumented)}"


def test_every_status_api_md_names_for_report_submission_is_documented() -> None:
    responses = DOC["paths"]["/api/v1/reports"]["post"]["responses"]
    # API.md's statuses, and 400 for a body the one JSON reader refuses (issue 16, docs/DECISIONS.md)
    assert set(responses) == {"200", "201", "400", "401", "403", "409", "413", "415", "422", "429"}
    assert responses["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ValidationError"}
    assert "Retry-After" in responses["429"]["headers"]


def _validator(name: str) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator for one component schema, resolving the document's ``$ref``s."""
    registry: Registry = Registry().with_resource("urn:houqin-openapi", DRAFT202012.create_resource(DOC))
    return Draft202012Validator({"$ref": f"urn:houqin-openapi#/components/schemas/{name}"}, registry=registry)


def test_report_schema_has_every_field_of_the_standard() -> None:
    schemas = DOC["components"]["schemas"]
    report = schemas["Report"]
    assert set(report["properties"]) == {f.key for f in HEADER_FIELDS} | {s.key for s in SECTIONS} | {"hazards"}
    for section in SECTIONS:
        name = "Report" + "".join(p.title() for p in section.key.split("_"))
        assert set(schemas[name]["properties"]) == {f.key for f in section.fields}
        assert schemas[name]["additionalProperties"] is False
    assert set(schemas["ReportHazard"]["properties"]) == {f.key for f in HAZARD_FIELDS}


def test_report_schema_accepts_the_spec_example_and_demo_reports() -> None:
    from district.demo.generate import SchoolProfile, monthly_report

    validator = _validator("Report")
    validator.validate(example_report())
    for i, (stype, boarding) in enumerate([("primary", True), ("kindergarten", False), ("senior", True)]):
        profile = SchoolProfile.make(f"61052800{i:02d}", stype, boarding, seed=7)
        validator.validate(monthly_report(profile, "2026-09"))


def test_report_v2_schema_accepts_the_demo_reports_in_v2() -> None:
    """The demo's @2 months (issue 20 item 6), with and without a planted stock anomaly, fit ``ReportV2``."""
    from district.demo.generate import STOCK_VARIATIONS, SchoolProfile, monthly_report

    validator = _validator("ReportV2")
    for i, (stype, boarding) in enumerate([("primary", True), ("kindergarten", False), ("junior", True)]):
        profile = SchoolProfile.make(f"61052800{i:02d}", stype, boarding, seed=7)
        validator.validate(monthly_report(profile, "2026-09", standard=2))
        for period, variation in zip(("2026-10", "2026-11", "2026-12"), STOCK_VARIATIONS, strict=True):
            report = monthly_report(profile, period, standard=2, stock_variation=variation)
            assert report["standard"] == "houqin/monthly-report@2"
            assert ("canteen_stock" in report) is profile.participating
            validator.validate(report)


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda r: r.update(extra=1), "extra"),
        (lambda r: r["nutrition"].update(food_spend=65305.35), "food_spend"),
        (lambda r: r["nutrition"].update(food_spend="65305.355"), "food_spend"),
        (lambda r: r["nutrition"].pop("meal_days"), "meal_days"),
        (lambda r: r.pop("dormitory"), "dormitory"),
        (lambda r: r["hazards"][0].pop("rectified_on"), "rectified_on"),
        (lambda r: r["enrollment"].update(staff=-1), "-1"),
        (lambda r: r.update(period="2026-9"), "2026-9"),
        (lambda r: r.update(school_code="610528001"), "610528001"),
    ],
)
def test_report_schema_refuses_what_the_standard_refuses(mutate: Callable[[Any], None], where: str) -> None:
    report = example_report()
    mutate(report)
    errors = list(_validator("Report").iter_errors(report))
    assert errors and any(where in e.message or where in "/".join(map(str, e.path)) for e in errors), errors


# ------------------------------------------------------------------------------------------ schemathesis


@pytest.fixture()
def api_schema(app: Any) -> Any:
    """The document as the running hub serves it, bound to the app (requests go through the WSGI stack)."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture()
def clock() -> Iterator[int]:
    """Timestamps inside the 300 s window, one second apart, so equal bodies never make equal signatures
    (that would be a replay, answered 401)."""
    from district import clock as hub_clock

    start = int(hub_clock.now().timestamp()) - 120
    return (start + i % 240 for i in itertools.count())


def _fuzz(strategy: Any, send: Callable[[Any], Any], max_examples: int) -> None:
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        send(case)

    run()


def _signer(credentials: dict[str, str], body: Any) -> str:
    """Sign as the school the body names when it is one of ours; otherwise as the agent school."""
    code = body.get("school_code") if isinstance(body, dict) else None
    return code if code in credentials else AGENT_SCHOOL


#: POST /api/v1/reports' answers (API.md): the receipt (201 new, 200 the identical re-send) or a refusal.
SUBMIT_STATUSES = {200, 201, 400, 401, 403, 409, 413, 415, 422, 429}


def _stored(session: Any) -> tuple[int, int]:
    """How many revisions and hazard-ledger rows the hub holds."""
    from sqlalchemy import func, select

    from district.reports.models import HazardEntry, ReportRevision

    return (
        session.scalar(select(func.count()).select_from(ReportRevision)),
        session.scalar(select(func.count()).select_from(HazardEntry)),
    )


def _assert_submission_properties(response: Any, before: tuple[int, int], after: tuple[int, int]) -> None:
    """What holds for any body: a documented status, never a server error; a refusal in the error format
    (a code and a message; a report the standard refuses names each field, ``details[].path``) that stores
    nothing; only a new revision (201) stores one."""
    status = response.status_code
    assert status in SUBMIT_STATUSES, (status, response.text[:500])
    if status == 201:
        assert after[0] == before[0] + 1, (before, after)
        return
    assert after == before, (status, before, after, response.text[:500])  # a refusal or a re-send
    if status == 200:
        return
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"] and error["message"], error
    if status == 422:
        assert error["details"], error
        for detail in error["details"]:
            assert isinstance(detail["path"], str) and (detail["path"] == "" or detail["path"].startswith("/"))
            assert detail["code"] and detail["message"], detail


def test_submit_report_conforms(
    api_schema: Any, session: Any, credentials: dict[str, str], clock: Iterator[int]
) -> None:
    operation = api_schema["/api/v1/reports"]["POST"]
    seen: dict[int, int] = {}

    def send(case: Any) -> None:
        body = case.body
        # A generated report names a random school (403); point four in five at the signer, so the rule
        # checks (422), idempotency and storage (201) are reached as well.
        if (
            isinstance(body, dict)
            and isinstance(body.get("school_code"), str)
            and not body["school_code"].endswith(("0", "5"))
        ):
            body = {**body, "school_code": AGENT_SCHOOL}
        school = _signer(credentials, body)
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            **signed_headers(school, credentials[school], "POST", "/api/v1/reports", raw, now=next(clock)),
        }
        before = _stored(session)
        response = case.call(data=raw, headers=headers)
        _assert_submission_properties(response, before, _stored(session))
        case.validate_response(response, checks=CHECKS)
        assert response.status_code != 401, response.text  # the signed path is exercised, not refused
        seen[response.status_code] = seen.get(response.status_code, 0) + 1

    _fuzz(operation.as_strategy(), send, max_examples=60)
    # the documented example, as the agent of its school, then again (idempotent) and unsigned
    example = example_report()
    for _ in range(2):
        send(operation.Case(body=example, media_type="application/json"))
    # accepted, re-sent, refused by the rules and for another school's code: all reached
    assert {200, 201, 403, 422} <= set(seen), seen

    unsigned = operation.Case(body=example_report(), media_type="application/json")
    before = _stored(session)
    response = unsigned.call()
    assert response.status_code == 401
    _assert_submission_properties(response, before, _stored(session))
    unsigned.validate_response(response, checks=CHECKS)


def test_agent_reads_conform(
    api_schema: Any, agent: SignedClient, credentials: dict[str, str], clock: Iterator[int]
) -> None:
    report = example_report()
    assert agent.post_report(report).status_code == 201

    def send(case: Any) -> None:
        path = case.formatted_path + (f"?{urlencode(case.query)}" if case.query else "")
        headers = signed_headers(AGENT_SCHOOL, credentials[AGENT_SCHOOL], "GET", path, b"", now=next(clock))
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)
        assert response.status_code != 401, response.text

    receipt = api_schema["/api/v1/reports/{report_id}"]["GET"]
    _fuzz(receipt.as_strategy(), send, max_examples=10)
    send(receipt.Case(path_parameters={"report_id": report["report_id"]}))
    feedback = api_schema["/api/v1/feedback"]["GET"]
    _fuzz(feedback.as_strategy(), send, max_examples=10)
    send(feedback.Case(query={"period": "2026-09"}))


def _call_buffered(app: Any, case: Any, headers: dict[str, str]) -> Any:
    """The case's GET through the app with the whole body read and the response closed (a file download
    is a file the server opened; schemathesis' WSGI transport leaves it to the garbage collector)."""
    query = f"?{urlencode(case.query)}" if case.query else ""
    with app.test_client() as client:
        return client.get(case.formatted_path + query, headers=headers, buffered=True)


@pytest.fixture()
def bureau_token(session: Any, county: Any) -> str:
    from district.auth.services import create_token, create_user

    user = create_user(session, "city", "correct horse battery", "city_admin", scope="610500")
    return create_token(session, user, "schemathesis")


def test_bureau_reads_conform(api_schema: Any, agent: SignedClient, bureau_token: str) -> None:
    assert agent.post_report(example_report()).status_code == 201
    auth = {"Authorization": f"Bearer {bureau_token}"}
    operations = [
        op.ok()
        for op in api_schema.get_all_operations()
        if op.ok().method.upper() == "GET" and "bureau" in (op.ok().tags or [])
    ]
    registered = _flask_operations(api_schema.app)
    operations = [op for op in operations if (op.path, "GET") in registered]
    assert operations, "no bureau GET operation is registered"
    examples: dict[str, Any] = {}
    pdf = "/api/v1/counties/{county}/reports/pdf"
    if (pdf, "POST") in registered:  # a real job, so the job routes' examples exist
        ask = api_schema[pdf]["POST"].Case(
            path_parameters={"county": "610528"},
            media_type="application/json",
            body={"school": AGENT_SCHOOL, "from": "2026-09", "to": "2026-09"},
        )
        response = ask.call(headers=auth)
        assert response.status_code == 202, response.text
        ask.validate_response(response, checks=CHECKS)
        job = response.json()
        examples = {"job_id": job["job_id"], "name": job["files"][0]["name"] if job["files"] else "none.pdf"}

    for op in operations:
        params = op.definition.raw.get("parameters", [])

        def send(case: Any) -> None:
            response = case.call(headers=auth)
            case.validate_response(response, checks=CHECKS)
            assert response.status_code != 401, response.text

        # files (xlsx, PDF) are checked once below; fuzzing renders JSON only, so the run stays quick
        formats = next((p["schema"]["enum"] for p in params if p["name"] == "format"), [])
        _fuzz(op.as_strategy(query={"format": "json"} if formats else None), send, max_examples=25)
        # the documented examples hit real data: county 610528, period 2026-09
        path_parameters = {p["name"]: examples.get(p["name"], p["example"]) for p in params if p.get("in") == "path"}
        query = {p["name"]: p["example"] for p in params if p.get("in") == "query" and "example" in p}
        for fmt in formats or [None]:
            example = op.Case(path_parameters=path_parameters, query={**query, **({"format": fmt} if fmt else {})})
            response = _call_buffered(api_schema.app, example, auth)
            assert response.status_code == 200, (op.label, fmt, response.text[:500])
            example.validate_response(response, checks=CHECKS)
        unauthenticated = example.call()
        assert unauthenticated.status_code == 401
        example.validate_response(unauthenticated, checks=CHECKS)


def test_public_reads_conform(api_schema: Any) -> None:
    for path in ("/api/v1/openapi.json", "/api/v1/hub-keys"):
        if (path, "GET") not in _flask_operations(api_schema.app):
            continue
        case = api_schema[path]["GET"].Case()
        response = case.call()
        assert response.status_code == 200
        case.validate_response(response, checks=CHECKS)


# ------------------------------------------------------------------------------------------ every operation

#: Per operation, per role and mode: few examples, derandomized, so the whole sweep fits CI (< 60 s).
SWEEP_EXAMPLES = 4
SWEEP_CHECKS = [
    not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance,
    negative_data_rejection, positive_data_acceptance,
]  # fmt: skip
#: What JSON Schema cannot say and the hub still refuses (info.description, "What the schema cannot say"):
#: a period after the current month, a report breaking a cross-field rule of STANDARD.md, a window longer than
#: 36 months or empty after clipping, nothing to print. For schema-valid requests these are 400/422 with the
#: documented codes; every other 400/422 for schema-valid data is drift.
BEYOND_THE_SCHEMA = {
    "invalid_period",
    "validation_failed",
    "window_too_long",
    "empty_window",
    "invalid_window",
    "no_expected_month",
    "no_schools",
    "invalid_snapshot",
    "nul_character",
}
ROLES = ("county_admin", "school_viewer")
OPERATIONS = [(path, method) for path, method in DOCUMENTED]


@pytest.fixture()
def sweep(app: Any, session: Any, agent: SignedClient, credentials: dict[str, str], monkeypatch: Any) -> Any:
    """The hub with a report stored, a token per role, and PDF jobs left queued (no render in the sweep: a job is
    rows and a 202; the per-user limit then answers 429, which the document lists)."""
    from district.auth.services import create_token, create_user
    from district.rendering import api as rendering_api

    monkeypatch.setattr(rendering_api, "_enqueue_start", lambda job_id: None)
    assert agent.post_report(example_report(period="2026-09")).status_code == 201
    tokens = {}
    for role, scope in (("county_admin", "610528"), ("school_viewer", AGENT_SCHOOL)):
        user = create_user(session, f"sweep_{role}", "correct horse battery", role, scope=scope)
        tokens[role] = create_token(session, user, "schemathesis")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    return schema, tokens


def _positive_rejection_is_documented(case: Any, response: Any) -> bool:
    """A 400/422 for schema-valid data whose code is one the schema cannot express (``BEYOND_THE_SCHEMA``)."""
    if response.status_code not in (400, 422):
        return False
    try:
        code = (response.get_json(silent=True) or {})["error"]["code"]
    except (KeyError, TypeError):
        return False
    return code in BEYOND_THE_SCHEMA


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_operation_conforms(
    sweep: Any, credentials: dict[str, str], clock: Iterator[int], role: str, path: str, method: str
) -> None:
    """schemathesis on every operation of the document, positive and negative data, as a county_admin and a
    school_viewer (agent operations signed by their school, public ones anonymous): no server error, every
    status and body documented, schema-invalid input refused, schema-valid input accepted (or refused only for
    what the schema cannot say)."""
    schema, tokens = sweep
    operation = schema[path][method]
    security = operation.definition.raw.get("security")
    agent_op = security == openapi.AGENT_SECURITY
    if agent_op and role != ROLES[0]:
        pytest.skip("agent operations are signed by a school, not a bureau role")
    seen: dict[str, set[int]] = {}

    def send(case: Any) -> None:
        headers: dict[str, str] = {k: str(v) for k, v in (case.headers or {}).items()}
        raw: bytes | None = None
        if isinstance(case.body, bytes):  # a negative case's body in another media type
            raw = case.body
            headers["Content-Type"] = case.media_type or "application/octet-stream"
        elif case.body is not NOT_SET and case.body is not None:
            raw = json.dumps(case.body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        query = f"?{urlencode(case.query, doseq=True)}" if case.query else ""
        target = case.formatted_path + query
        negated = "" if case.meta is None else str(getattr(case.meta.phase.data, "description", "") or "")
        if agent_op and "X-Houqin-" in negated:
            pass  # the case is the signature headers missing: sent unsigned, it must be refused
        elif agent_op:
            school = _signer(credentials, case.body)
            headers.update(signed_headers(school, credentials[school], method, target, raw or b"",
                                          now=next(clock)))  # fmt: skip
        elif security != []:
            headers["Authorization"] = f"Bearer {tokens[role]}"
        with schema.app.test_client() as client:
            response = client.open(target, method=method, data=raw, headers=headers, buffered=True)
        mode = "positive" if case.meta is None or case.meta.generation.mode.is_positive else "negative"
        seen.setdefault(mode, set()).add(response.status_code)
        checks = list(SWEEP_CHECKS)
        if mode == "positive" and _positive_rejection_is_documented(case, response):
            checks.remove(positive_data_acceptance)
        case.validate_response(response, checks=checks)

    formats = next((p["schema"]["enum"] for p in operation.definition.raw.get("parameters", [])
                    if p.get("name") == "format"), None)  # fmt: skip
    query = {"format": "json"} if formats else None  # files are checked by test_bureau_reads_conform
    raw_op = operation.definition.raw
    modes = [GenerationMode.POSITIVE]
    if raw_op.get("parameters") or raw_op.get("requestBody") or agent_op:
        modes.append(GenerationMode.NEGATIVE)  # nothing to make invalid in a bare GET
    for mode in modes:
        _fuzz(operation.as_strategy(generation_mode=mode, query=query), send, max_examples=SWEEP_EXAMPLES)
    assert seen, "no case was sent"


def _param_schema(path: str, method: str, name: str) -> Draft202012Validator:
    [param] = [p for p in DOC["paths"][path][method]["parameters"] if p.get("name") == name]
    return Draft202012Validator(param["schema"])


def test_the_drift_issue_16_found_is_gone(sweep: Any) -> None:
    """Issue 16 item 9: each case the document and the hub disagreed on, now the same on both sides."""
    schema, tokens = sweep
    auth = {"Authorization": f"Bearer {tokens['county_admin']}"}
    rankings = "/api/v1/counties/{county}/rankings"
    with schema.app.test_client() as client:
        # an empty bound is "not given" on both sides; a bound alone is an open-ended window
        assert _param_schema(rankings, "get", "to").is_valid("")
        assert _param_schema(rankings, "get", "year").is_valid("")
        resp = client.get("/api/v1/counties/610528/rankings?from=2026-03&to=", headers=auth)
        # (clipped to the county's reporting start: its first report is of 2026-09)
        assert resp.status_code == 200 and resp.get_json()["window"] == {"from": "2026-09", "to": "2026-10"}
        resp = client.get("/api/v1/counties/610528/rankings?to=2026-10", headers=auth)  # 2026-01..2026-10, clipped
        assert resp.status_code == 200 and resp.get_json()["window"] == {"from": "2026-09", "to": "2026-10"}
        # over 36 months: a rule of the window the schema cannot say, documented with its code
        resp = client.get("/api/v1/counties/610528/rankings?from=2020-01&to=2026-10", headers=auth)
        assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "window_too_long"
        assert "window_too_long" in DOC["paths"][rankings]["get"]["responses"]["400"]["description"]
        # the period in a path has its pattern, and the hub refuses what it refuses
        period = _param_schema("/api/v1/periods/{county}/{period}", "get", "period")
        assert period.is_valid("2026-09") and not period.is_valid("2026-9") and not period.is_valid("2009-12")
        assert client.get("/api/v1/periods/610528/2026-9", headers=auth).status_code == 400
        # notes: null is "no notes" on both sides
        body = {"date": "2026-10-15", "score": 4.5, "inspector": "教育局后勤科", "notes": None}
        _validator("InspectionRequest").validate(body)
        resp = client.post(f"/api/v1/schools/{AGENT_SCHOOL}/inspections", json=body, headers=auth)
        assert resp.status_code == 201, resp.get_json()
        # unknown keys in a PDF job's body: refused, as additionalProperties false says
        assert DOC["components"]["schemas"]["PdfJobRequest"]["additionalProperties"] is False
        resp = client.post("/api/v1/counties/610528/reports/pdf", json={"year": 2026, "colour": "red"}, headers=auth)
        assert resp.status_code == 422
