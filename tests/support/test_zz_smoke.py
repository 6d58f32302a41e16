from fastapi.testclient import TestClient
from tests.support.conftest import SupportWorld

def test_smoke(client: TestClient, world: SupportWorld) -> None:
    h = world.key(world.east_basic)
    r = client.get("/api/v1/support/cases?limit=100", headers=h)
    print(r.status_code, r.text)
    assert False
