"""`deferral docs`: the auditor pages over HTTP on 127.0.0.1, from two folders only, and units' trails.

``/`` is ``<data-dir>/data_docs/`` (validation report, GX Data Docs) and ``/report/`` is the current
publication's ``report/`` (workbooks and charts). Every other path of the data dir is out of reach:
a request is resolved inside one of those two roots or refused (no ``..``, no symlink out).
``/explain?unit=U`` (or ``uscc=C``; ``as_of=YYYY-MM``, ``format=json``) is `deferral explain`'s answer,
the same content (persons by person_key only)."""

from __future__ import annotations

import functools
import http.server
import json
import urllib.parse
from pathlib import Path


def explain_page(data_dir: Path, query: str) -> tuple[int, str, bytes]:
    """`deferral explain` for ``?unit=…|uscc=…[&as_of=…][&format=json]``: status, content type, body."""
    from assets.explain.answer import explain
    from assets.explain.text import lines
    from assets.explain.trail import ExplainError
    from assets.resources import Warehouse
    from assets.settings import current_settings

    asked = {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}
    if ("unit" in asked) == ("uscc" in asked):
        return 400, "text/plain; charset=utf-8", "give one of unit= or uscc=\n".encode()
    warehouse = Warehouse(data_dir=str(data_dir), settings=current_settings())  # resolved, outside a run
    try:
        trail = explain(
            warehouse.root,
            warehouse.profiles(),
            warehouse.pii_key,
            asked.get("unit"),
            asked.get("uscc"),
            asked.get("as_of"),
        )
    except ExplainError as problem:
        return 404, "text/plain; charset=utf-8", f"{problem}\n".encode()
    if asked.get("format") == "json":
        return 200, "application/json", json.dumps(trail, ensure_ascii=False, indent=1).encode()
    return 200, "text/plain; charset=utf-8", ("\n".join(lines(trail)) + "\n").encode()


class AuditorPages(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, roots: dict[str, Path], data_dir: Path, **kwargs):
        self.roots, self.data_dir = roots, data_dir
        super().__init__(*args, directory=str(roots[""]), **kwargs)

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path != "/explain":
            super().do_GET()
            return
        status, kind, body = explain_page(self.data_dir, query)
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        prefix = "report" if clean == "/report" or clean.startswith("/report/") else ""
        root = self.roots[prefix].resolve()
        rest = clean[len("/report") :] if prefix else clean
        target = (root / urllib.parse.unquote(rest).lstrip("/")).resolve()
        return str(target) if target == root or root in target.parents else str(root / "__refused__")

    def log_message(self, format: str, *args) -> None:  # quiet: one line per request is noise here
        pass


def handler(data_dir: Path):
    return functools.partial(
        AuditorPages, roots={"": data_dir / "data_docs", "report": data_dir / "published" / "report"}, data_dir=data_dir
    )


def serve(data_dir: Path, port: int) -> None:
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler(data_dir)) as server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
