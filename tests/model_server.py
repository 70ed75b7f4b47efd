"""A small HTTP server on loopback that serves GPT-2-shaped model files the way OpenAI's storage
does (HEAD, GET, Range requests), and can misbehave on request: cut a transfer short, ignore
Range, announce the wrong length, or answer 404."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Behaviour:
    files: dict[str, bytes] = field(default_factory=dict)  # URL path -> content
    cut_next: dict[str, int] = field(default_factory=dict)  # path -> GETs left to cut short
    ignore_range: bool = False
    extra_length: dict[str, int] = field(default_factory=dict)  # path -> bytes announced extra
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    behaviour: Behaviour

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    def _answer(self, body: bool) -> None:
        b = self.behaviour
        range_header = self.headers.get("Range")
        b.requests.append((self.command, self.path, range_header))
        content = b.files.get(self.path)
        if content is None:
            page = b"<html><body>BlobNotFound</body></html>"
            self.send_response(404)
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            if body:
                self.wfile.write(page)
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", range_header or "")
        if match and not b.ignore_range:
            start = int(match.group(1))
        payload = content[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(content) - 1}/{len(content)}")
        self.send_header("Content-Length", str(len(payload) + b.extra_length.get(self.path, 0)))
        self.end_headers()
        if not body:
            return
        if b.cut_next.get(self.path, 0) > 0:
            b.cut_next[self.path] -= 1
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(payload)
        if b.extra_length.get(self.path):
            self.close_connection = True


class ModelServer:
    def __init__(self) -> None:
        self.behaviour = Behaviour()
        handler = type("Handler", (_Handler,), {"behaviour": self.behaviour})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/gpt-2"

    def __enter__(self) -> ModelServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
