"""`deferral docs` serves the auditor pages and the reports, and nothing else of the data dir."""

import threading
import urllib.error
import urllib.request

import pytest

from pipelines.docs_server import handler


@pytest.fixture()
def server(tmp_path):
    import http.server

    (tmp_path / "data_docs").mkdir()
    (tmp_path / "data_docs" / "validation_report.html").write_text("<h1>report</h1>", encoding="utf-8")
    (tmp_path / "published" / "report" / "340000" / "2022-08").mkdir(parents=True)
    (tmp_path / "published" / "report" / "340000" / "2022-08" / "report.xlsx").write_bytes(b"PK")
    (tmp_path / "raw" / "contributions").mkdir(parents=True)
    (tmp_path / "raw" / "contributions" / "c.csv").write_text("person_id\n110105198001010010\n", encoding="utf-8")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler(tmp_path))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def test_pages_and_reports_are_served(server):
    assert get(f"{server}/validation_report.html") == (200, b"<h1>report</h1>")
    assert get(f"{server}/report/340000/2022-08/report.xlsx") == (200, b"PK")


@pytest.mark.parametrize(
    "path",
    [
        "/../raw/contributions/c.csv",
        "/report/../../raw/contributions/c.csv",
        "/%2e%2e/raw/contributions/c.csv",
        "/report/%2e%2e/%2e%2e/raw/contributions/c.csv",
    ],
)
def test_nothing_else_of_the_data_dir(server, path):
    status, body = get(server + path)
    assert status == 404 and b"110105" not in body
