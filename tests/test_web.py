"""The web workspace (``optimizer serve``, SPEC section 11) over HTTP: uploads,
validation problems worded as ``validate`` words them, rule edits, runs in
their own processes (solve, frontier, stress, N-1, robust, alternatives),
Cancel, compare, downloads; and its refusals: oversized and malformed
uploads, path traversal, unknown ids, other sites' forms; the server listens
on loopback only.

Most tests use Starlette's test client on an app over a fresh workspace; the
traversal, size and binding tests talk to a real ``optimizer serve`` process
over a socket, so that raw paths reach the server as written.
"""

from __future__ import annotations

import html
import http.client
import io
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import optimizer
from optimizer.input.workbook import write_workbook

starlette = pytest.importorskip("starlette")
pytest.importorskip("multipart")
try:  # what starlette's test client runs on (httpx before starlette 1.x)
    import httpx2 as httpx
except ImportError:
    httpx = pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from optimizer.web.app import create_app  # noqa: E402
from optimizer.web.uploads import MAX_UPLOAD_MB  # noqa: E402
from tests.conftest import world  # noqa: E402

ID = re.compile(r"/(?:instances|runs)/([0-9a-f]{32})")


# --------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def default_xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled default instance written as a workbook (as ``optimizer convert``)."""
    path = tmp_path_factory.mktemp("xlsx") / "north-america.xlsx"
    write_workbook(optimizer.load_instance(optimizer.default_instance_path()), path)
    return path


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(tmp_path / "ws")
    with TestClient(app) as c:
        yield c


def upload(client: TestClient, path: Path | None = None, *, name: str | None = None,
           data: bytes | None = None, action: str = "open") -> Any:
    body = data if data is not None else Path(path).read_bytes()  # type: ignore[arg-type]
    return client.post("/upload", files={"file": (name or Path(path).name, body)},  # type: ignore[arg-type]
                       data={"action": action}, follow_redirects=False)


def opened(client: TestClient, path: Path | None = None, **kw: Any) -> str:
    """Upload ``path``; the new instance's id."""
    r = upload(client, path, **kw)
    assert r.status_code == 303, r.text
    m = ID.match(r.headers["location"])
    assert m, r.headers["location"]
    return m.group(1)


def start(client: TestClient, ident: str, kind: str = "solve", **params: str) -> str:
    r = client.post(f"/instances/{ident}/runs", data={"kind": kind, **params},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return ID.match(r.headers["location"]).group(1)  # type: ignore[union-attr]


def finish(client: TestClient, run_id: str, timeout: float = 60) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        status = client.get(f"/runs/{run_id}/status").json()
        if status["finished"]:
            return status
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s")


def workspace(client: TestClient) -> Path:
    return client.app.state.web.ws.root  # type: ignore[attr-defined]


def rules_form(page: str) -> dict[str, str]:
    """The rules form's fields as the page fills them in."""
    fields = dict(re.findall(r'name="((?:name|limit)-\d+|version)" value="([^"]*)"', page))
    return {k: html.unescape(v) for k, v in fields.items()}


def problems_on(page: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", li)) for li in
            re.findall(r'<li class="(?:error|warning)">(.*?)</li>', page, flags=re.S)]


# --------------------------------------------------------------------------- pages and uploads
def test_home_offers_examples_and_an_upload_form(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert 'type="file"' in r.text and ">Upload</button>" in r.text
    for e in ("north-america", "eu-storage", "teaching"):
        assert f"/examples/{e}/open" in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"


def test_upload_of_the_default_workbook(client: TestClient, default_xlsx: Path) -> None:
    ident = opened(client, default_xlsx)
    page = client.get(f"/instances/{ident}")
    assert page.status_code == 200
    assert "ok: 23 suppliers, 5 applications, 5 periods, 6 rules, 5 scenarios" in page.text
    assert ">Solve</button>" in page.text and "china-cap" in page.text
    # stored under a name the server made, inside the workspace
    stored = workspace(client) / "instances" / ident / "src" / "instance.xlsx"
    assert stored.read_bytes() == default_xlsx.read_bytes()
    # the instance as .xlsx, as uploaded
    got = client.get(f"/instances/{ident}/instance.xlsx")
    assert got.status_code == 200 and got.content == default_xlsx.read_bytes()
    assert "north-america.xlsx" in got.headers["content-disposition"]


def test_opening_a_bundled_example(client: TestClient) -> None:
    r = client.post("/examples/teaching/open", follow_redirects=False)
    assert r.status_code == 303
    ident = ID.match(r.headers["location"]).group(1)  # type: ignore[union-attr]
    page = client.get(f"/instances/{ident}").text
    assert "ok: " in page and ">Solve</button>" in page
    # a YAML instance downloads as a workbook the library reads back as the same instance
    got = client.get(f"/instances/{ident}/instance.xlsx")
    assert got.status_code == 200 and got.content[:2] == b"PK"
    assert 'filename="teaching.xlsx"' in got.headers["content-disposition"]
    copy = workspace(client) / "teaching.xlsx"
    copy.write_bytes(got.content)
    from optimizer.cli.commands.convert import comparable

    teaching = optimizer.load_instance(optimizer.default_instance_path().parent.parent
                                       / "teaching" / "instance.yaml")
    assert comparable(optimizer.load_instance(copy).to_dict()) == comparable(teaching.to_dict())
    assert client.post("/examples/no-such-example/open").status_code == 404


def test_problems_of_a_broken_workbook_are_worded_as_validate_words_them(
        client: TestClient, default_xlsx: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from openpyxl import load_workbook

    from optimizer.cli import main

    wb = load_workbook(default_xlsx)
    wb["suppliers"]["G3"] = "abc"   # price
    wb["suppliers"]["H4"] = -5      # freight
    broken = tmp_path / "broken.xlsx"
    wb.save(broken)
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "broken.xlsx"]) == 2
    cli = [line[4:] for line in capsys.readouterr().err.splitlines() if line.startswith("  - ")]
    assert cli[0] == "broken.xlsx: suppliers!G3: price must be a number, got 'abc'"

    ident = opened(client, broken, action="solve")  # problems: no run is started
    page = client.get(f"/instances/{ident}")
    assert page.status_code == 200
    assert problems_on(page.text) == cli
    assert f"{len(cli)} problems in the input:" in page.text
    assert ">Solve</button>" not in page.text
    assert str(workspace(client)) not in page.text  # the server's paths are never shown
    r = client.post(f"/instances/{ident}/runs", data={"kind": "solve"})
    assert r.status_code == 409


def test_a_file_that_is_no_workbook_is_listed_as_a_problem(client: TestClient) -> None:
    ident = opened(client, name="notes.xlsx", data=b"this is not a workbook\n" * 10)
    page = client.get(f"/instances/{ident}").text
    problems = problems_on(page)
    assert problems and all(p.startswith("notes.xlsx") for p in problems)


def test_other_kinds_of_file_are_refused(client: TestClient) -> None:
    r = upload(client, name="instance.exe", data=b"MZ")
    assert r.status_code == 400
    assert "Excel workbook (.xlsx) or as a .zip" in r.text
    r = client.post("/upload", data={"action": "open"})
    assert r.status_code == 400 and "Choose a file" in r.text
    assert not any((workspace(client) / "instances").iterdir())


def test_a_60_mb_upload_is_refused_with_a_clear_message(client: TestClient) -> None:
    big = b"\0" * (60 * 2**20)
    r = upload(client, name="huge.xlsx", data=big)
    assert r.status_code == 413
    assert f"files up to {MAX_UPLOAD_MB} MB are accepted" in r.text
    assert "60.0 MB" in r.text
    # sent without a Content-Length (chunked): refused once past the limit

    def chunks() -> Iterator[bytes]:
        boundary = b"--xyz\r\n"
        yield boundary + b'Content-Disposition: form-data; name="file"; filename="huge.xlsx"\r\n'
        yield b"Content-Type: application/octet-stream\r\n\r\n"
        for _ in range(60):
            yield b"\0" * 2**20
        yield b"\r\n--xyz--\r\n"

    r = client.post("/upload", content=chunks(),
                    headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert r.status_code == 413
    assert f"files up to {MAX_UPLOAD_MB} MB are accepted" in r.text
    assert not any((workspace(client) / "instances").iterdir())


def _zip(entries: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            z.writestr(info, target)
    return buf.getvalue()


def test_a_zip_of_a_yaml_folder(client: TestClient) -> None:
    folder = optimizer.default_instance_path().parent
    entries = {f"north-america/{p.name}": p.read_bytes() for p in folder.iterdir()
               if p.is_file()}
    ident = opened(client, name="na.zip", data=_zip(entries))
    page = client.get(f"/instances/{ident}").text
    assert "ok: 23 suppliers" in page


def test_a_zip_with_problems_names_its_files_inside_the_folder(client: TestClient) -> None:
    folder = optimizer.default_instance_path().parent
    entries = {f"na/{p.name}": p.read_bytes() for p in folder.iterdir() if p.is_file()}
    entries["na/instance.yaml"] = entries["na/instance.yaml"].replace(b"discount_rate:",
                                                                      b"discount_rat:")
    ident = opened(client, name="na.zip", data=_zip(entries))
    problems = problems_on(client.get(f"/instances/{ident}").text)
    assert problems and all(p.startswith("na/instance.yaml") for p in problems)


@pytest.mark.parametrize("entries,links,words", [
    ({"../evil.yaml": b"x: 1"}, None, "leads outside its folder"),
    ({"/tmp/evil.yaml": b"x: 1"}, None, "absolute"),
    ({"a\\..\\..\\evil.yaml": b"x: 1"}, None, "Windows path"),
    ({"instance.yaml": b"x: 1"}, {"suppliers.csv": "/etc/passwd"}, "symbolic link"),
    ({"notes.txt": b"hello"}, None, "no YAML file"),
    ({"a.yaml": b"x: 1", "b.yaml": b"y: 2"}, None, "several YAML files"),
])
def test_hostile_zips_are_refused(client: TestClient, tmp_path: Path,
                                  entries: dict[str, bytes], links: dict[str, str] | None,
                                  words: str) -> None:
    r = upload(client, name="x.zip", data=_zip(entries, links))
    assert r.status_code == 400
    assert words in html.unescape(r.text)
    assert not any((workspace(client) / "instances").iterdir())
    assert not (tmp_path / "evil.yaml").exists() and not Path("/tmp/evil.yaml").exists()


def test_a_zip_bomb_is_refused(client: TestClient) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("instance.yaml", b"x: 1")
        z.writestr("big.csv", b"0" * (120 * 2**20))
    r = upload(client, name="bomb.zip", data=buf.getvalue())
    assert r.status_code == 400
    assert "unzips to more than" in r.text


def test_text_from_an_instance_is_escaped(client: TestClient, tmp_path: Path) -> None:
    data = world(name="<script>alert('name')</script>",
                 rules=[{"name": "<img src=x onerror=alert(1)>", "kind": "max_share",
                         "by": "company", "limit": 0.6}])
    data["suppliers"][0]["company"] = "<b>CATL</b>"
    (tmp_path / "evil.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    path = tmp_path / "evil.xlsx"
    write_workbook(optimizer.load_instance(tmp_path / "evil.yaml"), path)
    ident = opened(client, path)
    page = client.get(f"/instances/{ident}").text
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>CATL" not in page
    assert "&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    run = start(client, ident)
    assert finish(client, run)["status"] == "done"
    page = client.get(f"/runs/{run}").text
    assert "<script>alert" not in page and "&lt;script&gt;" in page


# --------------------------------------------------------------------------- edit, solve, compare
def test_edit_a_limit_and_solve_equals_the_library(client: TestClient,
                                                   default_xlsx: Path) -> None:
    ident = opened(client, default_xlsx)
    base_run = start(client, ident)
    form = rules_form(client.get(f"/instances/{ident}").text)
    assert form["name-1"] == "china-cap" and form["limit-1"] == "0.4" and form["version"] == "1"
    r = client.post(f"/instances/{ident}/rules", data={**form, "limit-1": "30%"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(f"/instances/{ident}").text
    assert "version 2" in page and 'value="0.3"' in page
    edited_run = start(client, ident)
    assert finish(client, base_run)["status"] == "done"
    assert finish(client, edited_run)["status"] == "done"

    from optimizer.labels import money

    expected = optimizer.solve(optimizer.load_instance(optimizer.default_instance_path())
                               .with_rule_limit("china-cap", 0.3))
    out = workspace(client) / "runs" / edited_run / "out"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["objective"] == pytest.approx(expected.objective, rel=1e-9)
    page = client.get(f"/runs/{edited_run}").text
    assert f"total cost: USD {money(expected.objective)} million" in page
    base = client.get(f"/runs/{base_run}").text
    assert "total cost: USD 11,945.1 million (discounted)" in base

    # every output file downloads, and the instance it ran as .xlsx
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert {"report.html", "results.xlsx", "summary.json", "allocation.csv",
            "shares.csv", "rules.csv"} <= set(names)
    for name in names:
        got = client.get(f"/runs/{edited_run}/files/{name}")
        assert got.status_code == 200 and got.content == (out / name).read_bytes(), name
    report = client.get(f"/runs/{edited_run}/files/report.html")
    assert report.headers["content-type"].startswith("text/html")
    assert "sandbox" in report.headers["content-security-policy"]
    xlsx = client.get(f"/runs/{edited_run}/instance.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    ran = workspace(client) / "ran.xlsx"
    ran.write_bytes(xlsx.content)
    assert optimizer.load_instance(ran).rule("china-cap").limit == pytest.approx(0.3)
    # the first run keeps the version it ran
    first = client.get(f"/runs/{base_run}/instance.xlsx")
    ran.write_bytes(first.content)
    assert optimizer.load_instance(ran).rule("china-cap").limit == pytest.approx(0.4)

    # compare: cost, mix by controlling country and company, the rule that changed
    cmp = client.get(f"/compare?a={base_run}&b={edited_run}")
    assert cmp.status_code == 200
    text = html.unescape(cmp.text)
    assert "11,945.1" in text and money(expected.objective) in text
    assert "Mix by controlling country" in text and "Mix by company" in text
    assert re.search(r"<td>CN</td><td class=\"num\">40\.0%</td><td class=\"num\">30\.0%",
                     cmp.text)
    changed = re.search(r'<table id="changed-rules">(.*?)</table>', cmp.text, flags=re.S)
    assert changed and "china-cap" in changed.group(1) and "limit changed" in changed.group(1)
    assert "company-cap</td><td>max_share</td><td class=\"num\">0.35</td><td " \
           "class=\"num\">0.35" not in changed.group(1)


def test_drop_and_add_rules(client: TestClient, default_xlsx: Path) -> None:
    ident = opened(client, default_xlsx)
    form = rules_form(client.get(f"/instances/{ident}").text)
    r = client.post(f"/instances/{ident}/rules", follow_redirects=False, data={
        **form, "drop-0": "1", "new-name": "korea-cap", "new-kind": "max_share",
        "new-by": "control", "new-group": "KR", "new-limit": "0.45"})
    assert r.status_code == 303, r.text
    page = client.get(f"/instances/{ident}").text
    names = [v for k, v in rules_form(page).items() if k.startswith("name-")]
    assert "company-cap" not in names and "korea-cap" in names
    assert "dropped rule company-cap; added rule korea-cap" in html.unescape(page)


def test_edits_that_would_break_the_instance_are_not_saved(client: TestClient,
                                                          default_xlsx: Path) -> None:
    ident = opened(client, default_xlsx)
    form = rules_form(client.get(f"/instances/{ident}").text)
    r = client.post(f"/instances/{ident}/rules", data={**form, "limit-1": "abc"})
    assert r.status_code == 422 and "is not a number" in html.unescape(r.text)
    r = client.post(f"/instances/{ident}/rules", data={**form, "limit-1": "1.7"})
    assert r.status_code == 422, r.text
    assert "The edit was not saved" in r.text
    r = client.post(f"/instances/{ident}/rules", data={
        **form, "new-name": "x", "new-kind": "max_share", "new-by": "control",
        "new-group": "ZZ", "new-limit": "0.3"})
    assert r.status_code == 422 and "ZZ" in r.text
    r = client.post(f"/instances/{ident}/rules", data={**form, "version": "7"})
    assert r.status_code == 409
    assert "version 1" in client.get(f"/instances/{ident}").text
    assert not list((workspace(client) / "instances" / ident).glob("v*.xlsx"))


def test_every_kind_of_run(client: TestClient) -> None:
    r = client.post("/examples/north-america/open", follow_redirects=False)
    ident = ID.match(r.headers["location"]).group(1)  # type: ignore[union-attr]
    runs = {"frontier": start(client, ident, "frontier", rule="china-cap", values="0.5,0.4,0.3"),
            "stress": start(client, ident, "stress"),
            "n-1": start(client, ident, "n-1"),
            "robust": start(client, ident, "robust"),
            "alternatives": start(client, ident, "alternatives", slack="2%")}
    expected = {"frontier": "frontier.csv", "stress": "scenarios.csv", "n-1": "n_minus_1.csv",
                "robust": "allocation_deterministic.csv", "alternatives": "ranges.csv"}
    for kind, run in runs.items():
        assert finish(client, run)["status"] == "done", kind
        page = client.get(f"/runs/{run}").text
        assert 'id="headline"' in page and "report.html" in page, kind
        out = workspace(client) / "runs" / run / "out"
        assert (out / expected[kind]).is_file() and (out / "report.html").is_file(), kind
    frontier = json.loads((workspace(client) / "runs" / runs["frontier"] / "progress.json")
                          .read_text())
    assert frontier == {"done": 3, "total": 3}
    assert "3 of 3 points have a plan" in client.get(f"/runs/{runs['frontier']}").text
    # an unknown rule is refused before anything runs; a bad premium too
    assert client.post(f"/instances/{ident}/runs",
                       data={"kind": "frontier", "rule": "nope"}).status_code == 400
    assert client.post(f"/instances/{ident}/runs",
                       data={"kind": "alternatives", "slack": "lots"}).status_code == 400
    assert client.post(f"/instances/{ident}/runs", data={"kind": "rm -rf"}).status_code == 400


def test_cancel(tmp_path: Path, default_xlsx: Path) -> None:
    with TestClient(create_app(tmp_path / "ws", slots=1)) as client:
        ident = opened(client, default_xlsx)
        first, second = start(client, ident, "robust"), start(client, ident)
        # queued behind the first (2 while the first itself still waits for its slot)
        assert client.get(f"/runs/{second}/status").json()["position"] in (1, 2)
        client.post(f"/runs/{second}/cancel")
        assert client.get(f"/runs/{second}/status").json()["status"] == "cancelled"
        end = time.monotonic() + 20
        while client.get(f"/runs/{first}/status").json()["status"] != "running":
            assert time.monotonic() < end
            time.sleep(0.05)
        client.post(f"/runs/{first}/cancel")
        assert finish(client, first, 20)["status"] == "cancelled"
        for run in (first, second):
            assert not (workspace(client) / "runs" / run / "out").exists()
            assert "cancelled" in client.get(f"/runs/{run}").text


# --------------------------------------------------------------------------- refusals
def test_unknown_ids_are_404_without_detail(client: TestClient) -> None:
    for url in ("/instances/" + "0" * 32, "/runs/" + "a" * 32, "/runs/xyz",
                "/runs/" + "a" * 32 + "/files/report.html", "/instances/../runs",
                "/compare?a=1&b=2", "/instances/" + "0" * 32 + "/instance.xlsx"):
        r = client.get(url)
        assert r.status_code == 404, url
        assert "There is nothing here." in r.text
        assert str(workspace(client)) not in r.text


def test_forms_from_other_sites_are_refused(client: TestClient, default_xlsx: Path) -> None:
    r = client.post("/examples/teaching/open", headers={"sec-fetch-site": "cross-site"})
    assert r.status_code == 403
    r = client.post("/examples/teaching/open", headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    assert not any((workspace(client) / "instances").iterdir())


# --------------------------------------------------------------------------- a real server
@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, default_xlsx: Path) -> Iterator[dict]:
    """``optimizer serve --port 0`` in its own process, with one finished solve."""
    ws = tmp_path_factory.mktemp("served") / "ws"
    proc = subprocess.Popen([sys.executable, "-m", "optimizer", "serve", "--port", "0",
                             "--workspace", str(ws)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, line + proc.stderr.read()  # type: ignore[union-attr]
        port = int(m.group(1))
        yield {"port": port, "ws": ws, "pid": proc.pid}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _raw_get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", path, skip_accept_encoding=True)
    conn.endheaders()
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


def test_the_server_listens_on_loopback_only(served: dict) -> None:
    port = served["port"]
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hexport = local.rsplit(":", 1)
            if state == "0A" and int(hexport, 16) == port:
                listening.append(address)
    if not listening:
        pytest.skip("no /proc/net/tcp to read the listening sockets from")
    assert listening == ["0100007F"]  # 127.0.0.1, and nothing else
    status, body = _raw_get(port, "/")
    assert status == 200 and b'type="file"' in body


def test_path_traversal_leaks_nothing(served: dict, default_xlsx: Path) -> None:
    port, ws = served["port"], served["ws"]
    # one run whose output folder exists, plus a link planted in it
    base = f"http://127.0.0.1:{port}"
    with open(default_xlsx, "rb") as f:
        r = httpx.post(base + "/upload", files={"file": ("na.xlsx", f)},
                       data={"action": "solve"}, follow_redirects=False)
    run = ID.match(r.headers["location"]).group(1)  # type: ignore[union-attr]
    end = time.monotonic() + 60
    while not httpx.get(f"{base}/runs/{run}/status").json()["finished"]:
        assert time.monotonic() < end
        time.sleep(0.1)
    out = ws / "runs" / run / "out"
    assert (out / "report.html").is_file()
    os.symlink("/etc/passwd", out / "passwd.csv")
    os.symlink(out.parent / "run.json", out / "link.json")
    secret = Path("/etc/passwd").read_bytes()[:20]
    urls = [
        "/files/../../etc/passwd", "/files/..%2F..%2Fetc%2Fpasswd", "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd", "//etc/passwd", "/etc/passwd",
        f"/runs/{run}/files/../../../../../../etc/passwd",
        f"/runs/{run}/files/..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        f"/runs/{run}/files/%2Fetc%2Fpasswd", f"/runs/{run}/files//etc/passwd",
        f"/runs/{run}/files/%252e%252e%252frun.json", f"/runs/{run}/files/..%5crun.json",
        f"/runs/{run}/files/run.json", f"/runs/{run}/files/..%2Frun.json",
        f"/runs/{run}/files/.optimizer-output.json", f"/runs/{run}/files/passwd.csv",
        f"/runs/{run}/files/link.json", f"/runs/{run}/files/", f"/runs/{run}/files/.",
        f"/runs/{run}/files/..", "/runs/..%2F..%2Fetc/files/passwd",
        "/static/../app.py", "/static/..%2Fapp.py", "/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/static/%2Fetc%2Fpasswd", "/instances/..%2F..%2Fetc/instance.xlsx",
        f"/runs/{run}/instance.xlsx/../../../etc/passwd", "/runs/%00/files/x",
    ]
    for url in urls:
        status, body = _raw_get(port, url)
        assert status in (400, 404), (url, status)
        assert secret not in body, url
        assert str(ws).encode() not in body, url
        assert b'"instance_file"' not in body, url
        assert b"Traceback" not in body, url
    assert _raw_get(port, f"/runs/{run}/files/summary.json")[0] == 200


def test_a_60_mb_upload_over_a_socket(served: dict) -> None:
    port = served["port"]
    before = sorted((served["ws"] / "instances").iterdir())
    boundary = "b0undary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"huge.xlsx\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = len(head) + 60 * 2**20 + len(tail)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest("POST", "/upload")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    try:
        conn.send(head)
        chunk = b"\0" * 2**20
        for _ in range(60):
            conn.send(chunk)
        conn.send(tail)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may answer before all of it is sent
    r = conn.getresponse()
    body = r.read().decode()
    assert r.status == 413
    assert f"files up to {MAX_UPLOAD_MB} MB are accepted" in body
    assert sorted((served["ws"] / "instances").iterdir()) == before
