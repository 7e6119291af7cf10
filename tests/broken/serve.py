"""Start a broken server: the real mock on an ephemeral port, and the defect's proxy in front."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mock_server.runner import MockServer

from .billing_defects import BILLING_DEFECTS
from .defects import DEFECTS
from .proxy import Defect, Proxy, ThreadedServer
from .resource_defects import RESOURCE_DEFECTS

BY_NAME = {defect.name: defect for defect in (*DEFECTS, *RESOURCE_DEFECTS, *BILLING_DEFECTS)}


@contextmanager
def broken_server(defect: type[Defect] | str, spec: str | Path, api_key: str) -> Iterator[str]:
    """Yield the base URL (with `/v1`) of the mock behind `defect`; `"none"` means no defect."""
    cls = BY_NAME[defect] if isinstance(defect, str) and defect != "none" else defect
    cls = Defect if cls == "none" else cls
    with MockServer(spec=spec, api_keys=[api_key]) as mock:
        origin, base_path = mock.url.rsplit("/", 1)
        with ThreadedServer(Proxy(origin, cls(api_key))) as url:
            yield f"{url}/{base_path}"
