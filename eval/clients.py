"""The two ways the harness reaches the service: in-process (a QAService) or over HTTP (/v1/search, /v1/ask).

Both expose the same plain-JSON surface, so the harness scores exactly what a client of the API sees:
`search(query, k) -> list[hit dict]`, `ask(question, history, mode) -> Answer JSON`, `info() -> dict`.
Does not score or cache; it only retries a 429 (backpressure) or 503 (models still loading) after
the server's Retry-After, and waits for /readyz before the first question.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

import httpx

from service.errors import VraagbaakError
from service.qa.protocol import QAService
from service.types import Turn


class Unreachable(VraagbaakError):
    """The server cannot be reached at all: the run stops (and resumes from the cache next time)."""


class ServiceError(VraagbaakError):
    """The server answered one request with an error: recorded for that question, the run goes on."""


class Client(Protocol):
    target: str

    def search(self, query: str, k: int) -> list[dict]: ...

    def ask(self, question: str, history: list[dict], mode: str | None) -> dict: ...

    def info(self) -> dict: ...


def _hit_dict(hit) -> dict:
    d = asdict(hit)
    d.pop("row", None)  # an index-internal row number, not part of the HTTP contract
    d["retrievers"] = list(d.get("retrievers", ()))
    return d


class InProcessClient:
    """Calls a loaded QAService directly (the default: no server needed)."""

    target = "in-process"

    def __init__(self, service: QAService):
        self.service = service

    def search(self, query: str, k: int) -> list[dict]:
        return [_hit_dict(h) for h in self.service.search(query, k)]

    def ask(self, question: str, history: list[dict], mode: str | None) -> dict:
        turns = [Turn(t["role"], t["content"]) for t in history]
        return self.service.ask(question, history=turns, mode=mode).to_dict()

    def info(self) -> dict:
        return self.service.info()


RETRY_STATUSES = (429, 503)


class HttpClient:
    """Talks to a running `vraagbaak serve` with the /v1 contract; `transport` is for tests."""

    def __init__(self, base_url: str, timeout: float = 180.0, transport: httpx.BaseTransport | None = None,
                 api_key: str | None = None, max_retries: int = 5, ready_timeout: float = 600.0):
        self.target = base_url.rstrip("/")
        self.max_retries, self.ready_timeout = max_retries, ready_timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=self.target, timeout=timeout, transport=transport, headers=headers)

    def _request(self, method: str, path: str, body: dict | None = None) -> httpx.Response:
        for _ in range(self.max_retries + 1):
            try:
                response = self._http.request(method, path, json=body)
            except httpx.TimeoutException as e:
                raise ServiceError(f"{path}: geen antwoord binnen de time-out") from e
            except httpx.TransportError as e:
                raise Unreachable(f"server niet bereikbaar: {self.target} ({type(e).__name__})") from e
            if response.status_code not in RETRY_STATUSES:
                return response
            time.sleep(float(response.headers.get("Retry-After", "1")))
        return response

    def _post(self, path: str, body: dict) -> dict:
        response = self._request("POST", path, body)
        if response.status_code >= 400:
            raise ServiceError(f"{path}: HTTP {response.status_code}: {_error_text(response)}")
        return response.json()

    def search(self, query: str, k: int) -> list[dict]:
        return self._post("/v1/search", {"query": query, "k": k})["hits"]

    def ask(self, question: str, history: list[dict], mode: str | None) -> dict:
        body: dict = {"question": question, "history": history}
        if mode:
            body["mode"] = mode
        return self._post("/v1/ask", body)

    def wait_ready(self) -> None:
        """Poll GET /readyz while it says 503 (models loading); a server without /readyz counts as ready."""
        deadline = time.monotonic() + self.ready_timeout
        while True:
            try:
                response = self._http.get("/readyz")
            except httpx.TransportError as e:
                raise Unreachable(f"server niet bereikbaar: {self.target} ({type(e).__name__})") from e
            if response.status_code != 503:
                return
            if time.monotonic() > deadline:
                raise Unreachable(f"server {self.target} is na {self.ready_timeout:.0f} s nog niet klaar")
            time.sleep(min(5.0, float(response.headers.get("Retry-After", "1"))))

    def info(self) -> dict:
        """GET /info once the server is ready ({} when it has none); Unreachable when nothing answers."""
        self.wait_ready()
        response = self._request("GET", "/info")
        return response.json() if response.status_code == 200 else {}


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("error", body))[:200] if isinstance(body, dict) else str(body)[:200]


def start_local_server(env: dict[str, str] | None = None, ready_timeout: float = 600.0,
                       poll: float = 1.0) -> tuple[subprocess.Popen, str]:
    """`vraagbaak serve` on a free 127.0.0.1 port (benchmarks, fault tests), returned once /readyz says 200
    (models loaded). Raises Unreachable when it exits or is not ready in time (it is then stopped)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Unreachable(f"de server is gestopt met code {proc.returncode}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(poll)
    proc.kill()
    raise Unreachable(f"de server was niet binnen {ready_timeout:.0f} s klaar")
