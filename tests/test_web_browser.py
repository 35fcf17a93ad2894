"""The web workspace driven in headless Chromium (Playwright on the system's
browser): upload the default instance as .xlsx through the file input, click
the button labelled Solve, see the optimum as the terminal prints it, open the
report (its charts drawn), edit a rule's limit, solve again, compare the two
runs, download results.xlsx; an oversized file is refused on the page; no
console errors anywhere.

Skipped, saying why, without Playwright or Chromium. With
``OPTIMIZER_SCREENSHOT=PATH`` set, the instance page is saved there (the
README's docs/web-workspace.png).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import optimizer
from optimizer.input.workbook import write_workbook

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (set CHROMIUM=PATH)", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ws = tmp_path_factory.mktemp("browser") / "ws"
    proc = subprocess.Popen([sys.executable, "-m", "optimizer", "serve", "--port", "0",
                             "--workspace", str(ws)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        m = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert m, line + proc.stderr.read()  # type: ignore[union-attr]
        yield m.group(0)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cli_optimum(capsys: pytest.CaptureFixture[str]) -> str:
    """The optimum as ``optimizer solve`` prints it: ``USD 11,945.1 million``."""
    from optimizer.cli import main

    assert main(["solve", "--no-analysis"]) == 0
    m = re.search(r"total cost: (USD [\d,]+\.\d million)", capsys.readouterr().out)
    assert m
    return m.group(1)


def test_upload_solve_report_edit_compare_download(server: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    optimum = cli_optimum(capsys)
    xlsx = tmp_path / "north-america.xlsx"
    write_workbook(optimizer.load_instance(optimizer.default_instance_path()), xlsx)
    huge = tmp_path / "huge.xlsx"
    with open(huge, "wb") as f:
        f.truncate(60 * 2**20)

    problems: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900},
                                          accept_downloads=True)
            page = context.new_page()
            page.on("console", lambda m: problems.append(f"{page.url}: {m.text}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))
            page.set_default_timeout(30_000)

            # a file past the size limit: refused on the page, nothing sent
            page.goto(server)
            page.set_input_files("input[type=file]", str(huge))
            page.get_by_role("button", name="Upload", exact=True).click()
            alert = page.locator("#upload-message")
            assert "files up to 20 MB are accepted" in alert.inner_text()
            assert page.url == server

            # upload the default instance and solve it
            page.set_input_files("input[type=file]", str(xlsx))
            page.get_by_role("button", name="Solve", exact=True).click()
            page.get_by_text(optimum).wait_for(timeout=60_000)
            assert "11,945.1" in page.locator("#headline").inner_text()
            first_run = page.url

            # the report: its charts drawn
            page.get_by_role("link", name="Open the report").click()
            page.wait_for_load_state("load")
            page.wait_for_function("document.querySelectorAll('[data-chart] svg').length >= 2")
            drawn = page.evaluate("Array.from(document.querySelectorAll('[data-chart]'))"
                                  ".filter(e => e.querySelector('svg')).length")
            assert drawn >= 2

            # edit china-cap's limit on the instance page, solve again
            page.goto(first_run)
            page.get_by_role("link", name="Back to the instance").click()
            page.get_by_label("limit of china-cap").fill("0.3")
            page.get_by_role("button", name="Save rules").click()
            page.get_by_text("version 2").first.wait_for()
            if os.environ.get("OPTIMIZER_SCREENSHOT"):
                page.screenshot(path=os.environ["OPTIMIZER_SCREENSHOT"], full_page=False)
            page.get_by_role("button", name="Solve", exact=True).click()
            headline = page.locator("#headline")
            headline.wait_for(timeout=60_000)
            second = headline.inner_text()
            assert "total cost: USD" in second and "11,945.1" not in second

            # compare the two runs
            page.get_by_role("button", name="Compare").click()
            page.get_by_role("heading", name="Rules that changed").wait_for()
            assert "china-cap" in page.locator("#changed-rules").inner_text()
            assert page.locator("#cost-a").inner_text() == "11,945.1"
            assert page.locator("#cost-b").inner_text() in second

            # download results.xlsx of the second run
            page.go_back()
            with page.expect_download() as info:
                page.get_by_role("link", name="results.xlsx").click()
            download = info.value
            assert download.suggested_filename == "results.xlsx"
            saved = tmp_path / "results.xlsx"
            download.save_as(saved)
            assert saved.read_bytes()[:2] == b"PK" and saved.stat().st_size > 10_000
            from openpyxl import load_workbook

            assert len(load_workbook(saved, read_only=True).sheetnames) > 1
        finally:
            browser.close()
    assert problems == []
