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
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

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
    assert set(responses) == {"200", "201", "401", "403", "409", "413", "415", "422", "429"}
    assert responses["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ValidationError"}
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
    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate])
    @given(case=strategy)
    def run(case: Any) -> None:
        send(case)

    run()


def _signer(credentials: dict[str, str], body: Any) -> str:
    """Sign as the school the body names when it is one of ours; otherwise as the agent school."""
    code = body.get("school_code") if isinstance(body, dict) else None
    return code if code in credentials else AGENT_SCHOOL


def test_submit_report_conforms(api_schema: Any, credentials: dict[str, str], clock: Iterator[int]) -> None:
    operation = api_schema["/api/v1/reports"]["POST"]
    seen: dict[int, int] = {}

    def send(case: Any) -> None:
        body = case.body
        # A generated report names a random school (403); point four in five at the signer, so the rule
        # checks (422), idempotency and storage (201) are reached as well.
        if isinstance(body, dict) and isinstance(body.get("school_code"), str) and \
                not body["school_code"].endswith(("0", "5")):
            body = {**body, "school_code": AGENT_SCHOOL}
        school = _signer(credentials, body)
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json",
                   **signed_headers(school, credentials[school], "POST", "/api/v1/reports", raw, now=next(clock))}
        response = case.call(data=raw, headers=headers)
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
    response = unsigned.call()
    assert response.status_code == 401
    unsigned.validate_response(response, checks=CHECKS)


def test_agent_reads_conform(api_schema: Any, agent: SignedClient, credentials: dict[str, str],
                             clock: Iterator[int]) -> None:
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
        op.ok() for op in api_schema.get_all_operations()
        if op.ok().method.upper() == "GET" and "bureau" in (op.ok().tags or [])
    ]
    registered = _flask_operations(api_schema.app)
    operations = [op for op in operations if (op.path, "GET") in registered]
    assert operations, "no bureau GET operation is registered"
    examples: dict[str, Any] = {}
    pdf = "/api/v1/counties/{county}/reports/pdf"
    if (pdf, "POST") in registered:  # a real job, so the job routes' examples exist
        ask = api_schema[pdf]["POST"].Case(path_parameters={"county": "610528"}, media_type="application/json",
                                           body={"school": AGENT_SCHOOL, "from": "2026-09", "to": "2026-09"})
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
