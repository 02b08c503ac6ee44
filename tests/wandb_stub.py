"""A stand-in for the W&B server on the loopback address, so the online path runs offline.

It answers the calls ``wandb`` (0.2x-0.3x, wandb-core) makes for a run and keeps what they
carry: the GraphQL operations (``Viewer``, ``UpsertBucket``, ``CreateRunFiles``), the
history rows and exit code sent to ``/files/<entity>/<project>/<run>/file_stream``, and
the files uploaded to the URLs it hands out. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class StubRecord:
    operations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (name, vars)
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    uploads: dict[str, int] = field(default_factory=dict)  # file name -> bytes received
    exit_codes: list[int] = field(default_factory=list)
    requests: int = 0

    def operation_vars(self, name: str) -> list[dict[str, Any]]:
        return [variables for op, variables in self.operations if op == name]


def graphql_answer(operation: str, variables: dict[str, Any], base: str) -> dict[str, Any]:
    """The smallest answer wandb-core accepts for each operation it sends."""
    if operation == "Viewer":
        viewer = {"id": "u1", "entity": "stub-entity", "username": "stub",
                  "email": "stub@localhost", "flags": "{}", "teams": {"edges": []}}  # fmt: skip
        return {"viewer": viewer}
    if operation == "UpsertBucket":
        project = {"id": "p1", "name": variables.get("project") or "uncategorized",
                   "entity": {"id": "e1", "name": "stub-entity"}}  # fmt: skip
        bucket = {"id": "b1", "name": variables.get("name"), "project": project,
                  "displayName": variables.get("displayName"), "description": None,
                  "config": "{}", "sweepName": None, "historyLineCount": 0}  # fmt: skip
        return {"upsertBucket": {"bucket": bucket, "inserted": True}}
    if operation == "CreateRunFiles":
        files = [{"name": n, "uploadUrl": f"{base}/upload/{n}"} for n in variables["files"]]
        return {"createRunFiles": {"runID": "b1", "uploadHeaders": [], "files": files}}
    return {}


def handler(record: StubRecord, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet test output
            pass

        def body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def answer(self, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # http.server's name
            body = self.body()
            base = f"http://{self.headers['Host']}"
            with lock:
                record.requests += 1
                if self.path == "/graphql":
                    query = json.loads(body)
                    name, variables = query.get("operationName") or "", query.get("variables") or {}
                    record.operations.append((name, variables))
                    return self.answer({"data": graphql_answer(name, variables, base)})
                if self.path.endswith("/file_stream"):
                    self.keep_stream(json.loads(body))
            self.answer({})

        def keep_stream(self, chunk: dict[str, Any]) -> None:
            files = chunk.get("files", {})
            for line in files.get("wandb-history.jsonl", {}).get("content", []):
                record.history.append(json.loads(line))
            for line in files.get("wandb-summary.json", {}).get("content", []):
                record.summary.update(json.loads(line))
            if chunk.get("complete"):
                record.exit_codes.append(int(chunk.get("exitcode", -1)))

        def do_PUT(self) -> None:
            body = self.body()
            with lock:
                record.requests += 1
                record.uploads[self.path.removeprefix("/upload/")] = len(body)
            self.answer({})

    return Handler


@contextmanager
def wandb_stub_server() -> Iterator[tuple[str, StubRecord]]:
    """(base URL, record) of a stub W&B server on 127.0.0.1, stopped on exit."""
    record, lock = StubRecord(), threading.Lock()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(record, lock))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", record
    finally:
        server.shutdown()
        server.server_close()
