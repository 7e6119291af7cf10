"""docs/deployment.md and deploy/compose.yaml as a user runs them, without Docker: the replicas'
command lines from the compose file and the CI job's from the page, started as processes on a
real redis-server, must serve one API between them."""
from __future__ import annotations

import re
import shlex
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import yaml
from flexprice import Flexprice

from mock_server.app import DEFAULT_API_KEY

from .test_cli import running

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "deploy" / "compose.yaml"
DEPLOYMENT = ROOT / "docs" / "deployment.md"
TOKEN = "deployment-test-token"


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def replica_command(service: str, redis_url: str, spec: Path) -> list[str]:
    """A replica's command from the compose file with compose's parts filled in: the mounted spec,
    the Redis service's address, the token from the environment. The image's entrypoint binds
    0.0.0.0:8080; here the test binds loopback on a free port."""
    filled = {"/spec/openapi.json": str(spec), "redis://redis:6379/0": redis_url}
    command = [filled.get(arg, arg) for arg in compose()["services"][service]["command"]]
    return [TOKEN if arg.startswith("${FLEXPRICE_MOCK_ADMIN_TOKEN") else arg for arg in command] + ["--host", "127.0.0.1"]


def test_the_compose_file_keeps_every_write_on_disk_and_publishes_only_the_replicas() -> None:
    services = compose()["services"]
    assert services["redis"]["command"] == ["redis-server", "--appendonly", "yes", "--appendfsync", "always",
                                            "--save", ""]
    assert "ports" not in services["redis"]
    assert services["mock-1"]["command"] == services["mock-2"]["command"]
    assert [services[name]["ports"] for name in ("mock-1", "mock-2")] == [["127.0.0.1:8081:8080"], ["127.0.0.1:8082:8080"]]
    assert services["mock-1"]["depends_on"] == {"redis": {"condition": "service_healthy"}}


def test_two_replicas_as_compose_starts_them_serve_one_api(redis_url: str, full_spec: Path) -> None:
    """Create a customer and a key through one replica with the official SDK, read the customer
    with that key through the other; the clock moved through one moves both."""
    with running(*replica_command("mock-1", redis_url, full_spec)) as first, \
            running(*replica_command("mock-2", redis_url, full_spec)) as second:
        with Flexprice(api_key_auth=DEFAULT_API_KEY, server_url=first) as sdk:
            customer = sdk.customers.create_customer(external_id="replicated", name="Ada")
            key = sdk.secrets.create_api_key(name="shared", type_="private_key").api_key
        with Flexprice(api_key_auth=key, server_url=second) as sdk:
            assert sdk.customers.get_customer(id=customer.id).external_id == "replicated"
            assert sdk.customers.get_customer(id="cust_acme").name == "Acme Corporation"  # fixtures, loaded once
        admin = {"Authorization": f"Bearer {TOKEN}"}
        first_admin, second_admin = (url.removesuffix("/v1") + "/_mock/clock" for url in (first, second))
        assert httpx.get(second_admin).status_code == 401
        moved = httpx.post(second_admin, json={"advance": "P1D"}, headers=admin)
        assert moved.status_code == 200, moved.text
        now = httpx.get(first_admin, headers=admin).json()["now"]  # a running clock, a day ahead on both
        ahead = datetime.fromisoformat(now.replace("Z", "+00:00")) - datetime.now(timezone.utc)
        assert timedelta(hours=23, minutes=59) < ahead <= timedelta(days=1)


def ci_command(redis_url: str, spec: Path) -> list[str]:
    """The page's GitHub Actions step that starts the mock, as its shell would run it."""
    (job,) = [text for text in re.findall(r"```yaml\n(.*?)```", DEPLOYMENT.read_text(), flags=re.S)
              if "services:" in text]
    steps = yaml.safe_load(job)["jobs"]["sdk-tests"]["steps"]
    (script,) = [step["run"] for step in steps if step.get("name", "").startswith("Start the mock")]
    line = script.split(" &\n", 1)[0].replace("\\\n", " ")
    line = line.replace("${{ github.run_id }}", "42").replace("redis://127.0.0.1:6379/0", redis_url)
    name, *args = shlex.split(line)
    assert name == "flexprice-mock"
    args[args.index("--port") + 1] = "0"
    return [str(spec) if arg == "openapi.json" else arg for arg in args]


def test_the_ci_jobs_two_workers_serve_one_api_on_one_port(redis_url: str, full_spec: Path) -> None:
    """Every request on a new connection, so both workers answer some: each sees every write."""
    with running(*ci_command(redis_url, full_spec)) as url:
        headers = {"x-api-key": DEFAULT_API_KEY}
        created = [httpx.post(f"{url}/customers", json={"external_id": f"ci-{n}", "name": "x"}, headers=headers)
                   for n in range(20)]
        assert [r.status_code for r in created] == [201] * 20
        for response in created:
            found = httpx.get(f"{url}/customers/external/{response.json()['external_id']}", headers=headers)
            assert found.status_code == 200 and found.json()["id"] == response.json()["id"]
