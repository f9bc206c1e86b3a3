"""A local feed server on 127.0.0.1 that speaks HTTP caching for real.

It serves whatever document a test puts at a path, with a strong ETag (a hash of the body) and a
Last-Modified date, answers 304 Not Modified when the client's If-None-Match or
If-Modified-Since says it already has the current version, can be told to fail with a status, and
records every request's path and headers.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Doc:
    body: bytes
    content_type: str
    modified: datetime
    fail: int = 0  # answer with this status instead (0: serve the document)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]
    status: int


class FeedServer:
    """`put(path, body)` then point a client at `url(path)`."""

    def __init__(self) -> None:
        self.docs: dict[str, Doc] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, out_headers, body = server._answer(path, headers)
                with server._lock:  # recorded before the client can see the answer
                    server.requests.append(Seen(self.path, headers, status))
                self.send_response(status)
                for k, v in out_headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def put(self, path: str, body: bytes, *, content_type: str = "application/rss+xml",
            modified: datetime | None = None, fail: int = 0,
            headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self.docs[path] = Doc(body, content_type,
                                  (modified or datetime.now(UTC)).replace(microsecond=0), fail,
                                  dict(headers or {}))

    def _answer(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            doc = self.docs.get(path)
        if doc is None:
            return 404, {}, b""
        if doc.fail:
            return doc.fail, dict(doc.headers), b""
        not_modified = False
        if "if-none-match" in headers:
            not_modified = doc.etag in [t.strip() for t in headers["if-none-match"].split(",")]
        elif "if-modified-since" in headers:
            try:
                not_modified = doc.modified <= parsedate_to_datetime(headers["if-modified-since"])
            except (TypeError, ValueError):
                not_modified = False
        if not_modified:
            return 304, {"ETag": doc.etag}, b""
        return 200, {"Content-Type": doc.content_type, "ETag": doc.etag,
                     "Last-Modified": format_datetime(doc.modified, usegmt=True)}, doc.body

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def rss(*items: tuple[str, str, str], title: str = "Test feed") -> bytes:
    """A small RSS 2.0 document from (title, link, RFC 822 date) triples."""
    from xml.sax.saxutils import escape

    parts = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
             f"<title>{escape(title)}</title><link>https://feed.example.com/</link>"]
    for t, link, date in items:
        parts.append(f"<item><title>{escape(t)}</title><link>{escape(link)}</link>"
                     f"<pubDate>{date}</pubDate><description>{escape(t)}.</description></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")
