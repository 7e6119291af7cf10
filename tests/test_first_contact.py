"""First contact, as a newcomer meets the mock: `GET /v1` and `GET /` answer an index of what is
served (JSON, or a page for a browser), and `--spec` takes an http(s) URL, downloaded once,
cached, and served from the cache when its server is gone."""
from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from mock_server import MockServer

from .test_cli import running


class SpecServer:
    """A local HTTP server of one folder, in a thread, counting the statuses it answered."""

    def __init__(self, folder: Path) -> None:
        self.statuses: list[int] = []
        statuses = self.statuses

        class Handler(SimpleHTTPRequestHandler):
            def log_request(self, code="-", size="-"):
                statuses.append(int(code))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def serving(folder: Path) -> Iterator[SpecServer]:
    server = SpecServer(folder)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("FLEXPRICE_MOCK_CACHE_DIR", str(folder))
    return folder


def test_a_fresh_mock_answers_its_index_at_v1_with_the_spec_the_ui_and_the_admin_endpoints():
    with running() as url:
        index = httpx.get(url)
        assert (index.status_code, index.headers["content-type"]) == (200, "application/json")
        body = index.json()
        assert body["spec"]["operations"] == 1 and body["spec"]["seed"] is True
        assert body["spec"]["source"].endswith("openapi.json")
        assert (body["api"], body["swagger_ui"], body["openapi"]) == ("/v1", "/v1/ui/", "/v1/openapi.json")
        assert "POST /_mock/reset" in body["admin"] and "POST /_mock/faults" in body["admin"]
        assert "flexprice-mock --spec PATH_OR_URL" in body["full_api"]
        root = url.removesuffix("/v1")
        assert httpx.get(root + "/").json() == body
        assert httpx.get(root + body["swagger_ui"]).status_code == 200
        assert httpx.get(root + body["openapi"]).json()["info"]["title"] == body["spec"]["title"]


def test_a_browser_gets_the_index_as_a_page_with_links():
    with MockServer(admin=False) as mock:
        page = httpx.get(mock.url + "/", headers={"accept": "text/html,application/xhtml+xml"})
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert '<a href="/v1/ui/">Swagger UI</a>' in page.text
        assert "off (--no-admin)" in page.text and "1 operations" in page.text
        assert httpx.get(mock.url + "/", headers={"accept": "application/json"}).json()["admin"] == "off (--no-admin)"
        assert httpx.post(mock.url + "/").status_code != 200  # the index answers GET only


def test_a_spec_url_is_served_then_served_again_from_the_cache_with_its_server_stopped(full_spec, tmp_path, cache):
    folder = tmp_path / "site"
    folder.mkdir()
    shutil.copy(full_spec, folder / "openapi.json")
    with serving(folder) as site:
        url = site.url + "/openapi.json"
        with running("--spec", url) as base:
            assert httpx.get(base).json()["spec"] == {"title": "Flexprice API", "version": "1.0", "source": url,
                                                      "operations": 257, "seed": False}
        with running("--spec", url) as base:  # asked again: not modified, nothing downloaded
            assert httpx.get(base).json()["spec"]["operations"] == 257
    assert site.statuses == [200, 304]
    assert len(list((cache / "specs").glob("*.json"))) == 2  # the document and what its server said of it
    process = subprocess.Popen([sys.executable, "-m", "mock_server", "--port", "0", "--spec", url],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = process.stdout.readline().strip()
        assert httpx.get(base + "/customers/cust_x", headers={"x-api-key": "sk_flexprice_mock_dev_key"}).status_code == 404
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert stderr.startswith(f"warning: {url}: cannot download it (")
    assert "serving the copy downloaded at" in stderr.splitlines()[0]


def test_a_spec_url_that_cannot_be_downloaded_and_is_not_cached_is_one_error_line_and_exit_2(tmp_path, cache):
    with serving(tmp_path) as site:
        missing = site.url + "/nothing.json"
        result = subprocess.run([sys.executable, "-m", "mock_server", "--port", "0", "--spec", missing],
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"Error: {missing}: cannot download it (HTTP 404), and no copy is cached in {cache / 'specs'}"]
    gone = site.url + "/openapi.json"
    result = subprocess.run([sys.executable, "-m", "mock_server", "routes", "--spec", gone],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"Error: {gone}: cannot download it (")


def test_the_gate_takes_a_spec_url_too_and_tests_from_the_cache_with_its_server_stopped(tmp_path, cache):
    folder = tmp_path / "site"
    folder.mkdir()
    shutil.copy(Path(__file__).parents[1] / "openapi.json", folder / "openapi.json")
    gate = [sys.executable, "-m", "contract_tests", "--profile", "quick", "--spec"]
    with serving(folder) as site:
        url = site.url + "/openapi.json"
        online = subprocess.run([*gate, url], capture_output=True, text=True, timeout=300)
    assert online.returncode == 0, online.stdout[-2000:] + online.stderr[-2000:]
    assert f"against {url} (seed" in online.stdout.splitlines()[0]
    offline = subprocess.run([*gate, url], capture_output=True, text=True, timeout=300)
    assert offline.returncode == 0, offline.stdout[-2000:] + offline.stderr[-2000:]
    assert f"against {url} (cannot download it (" in offline.stdout.splitlines()[0]
    missing = subprocess.run([*gate, site.url + "/nothing.json"], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and len(missing.stderr.splitlines()) == 1
    assert missing.stderr.startswith(f"Error: {site.url}/nothing.json: cannot download it (")
