from typing import Any
from tests.conftest import SignedClient, example_report
from district.auth.services import create_token, create_user

def test_probe(agent: SignedClient, client: Any, session: Any) -> None:
    user = create_user(session, "adm", "correct horse battery", "county_admin", scope="610528")
    auth = {"Authorization": f"Bearer {create_token(session, user, 't')}"}
    r = client.get("/api/v1/feedback?period=1028-10", headers=agent.headers("GET", "/api/v1/feedback?period=1028-10", b""))
    print("feedback 1028-10:", r.status_code, r.json.get("deadline"))
    r = client.get("/api/v1/counties/610528/completeness?period=1028-10", headers=auth)
    print("completeness 1028-10:", r.status_code, r.json.get("deadline"))
    try:
        r = client.post("/api/v1/periods/610528/2026-09/lock", headers=auth, json=[1])
        print("lock with [1]:", r.status_code, r.data[:200])
    except Exception as exc:
        print("lock with [1]: raised", type(exc).__name__, exc)
