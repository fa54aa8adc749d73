"""`deferral docs`: the auditor pages over HTTP on 127.0.0.1, from two folders only.

``/`` is ``<data-dir>/data_docs/`` (validation report, GX Data Docs) and ``/report/`` is the current
publication's ``report/`` (workbooks and charts). Every other path of the data dir is out of reach:
a request is resolved inside one of those two roots or refused (no ``..``, no symlink out)."""

from __future__ import annotations

import functools
import http.server
import urllib.parse
from pathlib import Path


class AuditorPages(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, roots: dict[str, Path], **kwargs):
        self.roots = roots
        super().__init__(*args, directory=str(roots[""]), **kwargs)

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
        AuditorPages, roots={"": data_dir / "data_docs", "report": data_dir / "published" / "report"}
    )


def serve(data_dir: Path, port: int) -> None:
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler(data_dir)) as server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
