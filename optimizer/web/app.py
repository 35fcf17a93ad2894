"""The Starlette application of ``optimizer serve``: server-rendered pages
(templates/, Jinja2 with autoescape on everywhere) and a little JavaScript
(static/app.js: the size check of an upload, the progress of a run).

Pages: ``/`` (examples, upload, instances, runs, compare), ``/instances/ID``
(tables, problems, rules form, the runs' buttons), ``/runs/ID`` (status,
progress, Cancel; when done the headline, the report and every output file),
``/compare?a=ID&b=ID`` (two solves side by side).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, get_args

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from optimizer.web import uploads
from optimizer.web.jobs import FINISHED, Jobs
from optimizer.web.rule_form import apply_edits, limit_text
from optimizer.web.tasks import KINDS
from optimizer.web.workspace import NotFound, Workspace, display_name, now, renamed

HERE = Path(__file__).parent

#: the pages' own policy: nothing but this server's own files
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
#: a report.html as written by the library: its own policy (inline script and
#: style, images as data: URLs), in a sandbox of its own origin
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
              "img-src data:; frame-ancestors 'none'; base-uri 'none'; "
              "sandbox allow-scripts allow-downloads allow-popups")
#: rows of a table shown on the instance page (the download holds them all)
TABLE_ROWS = 200
#: a run's parameters as typed into a form: at most this long
PARAM_CHARS = 500


# --------------------------------------------------------------------------- helpers
def _when(t: Any) -> str:
    if not isinstance(t, (int, float)):
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{max(1, round(n / 1024)):,} KB"


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.12g}" if math.isfinite(v) else str(v)
    if isinstance(v, (list, tuple)):
        return ", ".join(_cell(x) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_cell(x)}" for k, x in v.items())
    return str(v)


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True)
    env.filters["when"] = _when
    env.filters["size"] = _size
    env.filters["cell"] = _cell
    env.filters["limit"] = limit_text
    return Jinja2Templates(env=env)


class SecurityHeaders:
    """Adds a Content-Security-Policy and the usual headers to every response
    (a response that sets its own policy keeps it); refuses a POST sent from
    another site's page."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        if scope.get("method") == "POST" and not _same_origin(headers):
            response = Response("This form was sent from another site's page; open the "
                                "workspace and send it from there.", status_code=403,
                                media_type="text/plain")
            await self._with_headers(response)(scope, receive, send)
            return
        await self.app(scope, receive, self._sender(send))

    def _with_headers(self, app: Any) -> Any:
        async def wrapped(scope: Any, receive: Any, send: Any) -> None:
            await app(scope, receive, self._sender(send))
        return wrapped

    @staticmethod
    def _sender(send: Any) -> Any:
        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                have = {k.lower() for k, _ in raw}
                for name, value in ((b"content-security-policy", PAGE_CSP),
                                    (b"x-content-type-options", "nosniff"),
                                    (b"referrer-policy", "same-origin"),
                                    (b"x-frame-options", "DENY"),
                                    (b"cache-control", "no-store")):
                    if name not in have:
                        raw.append((name, value.encode("latin-1")))
                message = {**message, "headers": raw}
            await send(message)
        return wrapped


def _same_origin(headers: dict[str, str]) -> bool:
    """A POST from one of the workspace's own pages (or from no page at all:
    a script, a test), not from another site's page."""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None:
        return True
    host = headers.get("host", "")
    return re.sub(r"^[a-z]+://", "", origin.lower()) == host.lower()


# --------------------------------------------------------------------------- the app
class WebApp:
    """The routes, over one workspace and one job table."""

    def __init__(self, workspace: str | Path, slots: int = 2):
        self.ws = Workspace(workspace)
        self.jobs = Jobs(self.ws, slots=slots)
        self.templates = _templates()

    # ----------------------------------------------------------------- rendering
    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        context.setdefault("title", "")
        return self.templates.TemplateResponse(request, name, context, status_code=status)

    def refusal(self, request: Request, message: str, status: int = 400,
                details: list[str] | None = None) -> Response:
        return self.page(request, "error.html", status, title="Refused", message=message,
                         details=details or [])

    # ----------------------------------------------------------------- home
    def home(self, request: Request) -> Response:
        from optimizer.examples import bundled

        runs = self.ws.runs()
        solves = [r for r in runs if r.get("kind") == "solve" and r.get("status") == "done"]
        return self.page(request, "home.html", examples=bundled(),
                         instances=self.ws.instances(), runs=runs[:50], solves=solves,
                         kinds=KINDS, max_mb=uploads.MAX_UPLOAD_MB,
                         max_bytes=uploads.MAX_UPLOAD_MB * 2**20)

    async def upload(self, request: Request) -> Response:
        limit = uploads.max_body()
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await uploads.drain(request.receive)
            return self.refusal(request, uploads.too_large_message(int(declared)), 413)
        capped = uploads.Capped(request.receive, limit)
        try:
            form = await Request(request.scope, capped).form(max_files=1, max_fields=10)
        except uploads.BodyTooLarge:
            if not capped.complete:
                await uploads.drain(request.receive)
            return self.refusal(request, uploads.too_large_message(), 413)
        except HTTPException as exc:
            return self.refusal(request, f"The upload could not be read ({exc.detail}).", 400)
        try:
            file = form.get("file")
            action = str(form.get("action") or "open")
            if file is None or isinstance(file, str) or not file.filename:
                return self.refusal(request, "Choose a file to upload: an Excel workbook "
                                    "(.xlsx) or a .zip of an instance's YAML folder.", 400)
            try:
                ident = await run_in_threadpool(self._store_upload, file.filename, file.file)
            except uploads.UploadError as exc:
                return self.refusal(request, str(exc), exc.status)
        finally:
            await form.close()
        return await run_in_threadpool(self._after_open, ident, action)

    def _store_upload(self, filename: str, data: Any) -> str:
        uploads.kind_of(filename)  # refused before anything is written
        ident, folder = self.ws.new_instance()
        try:
            source = uploads.store_upload(filename, data, folder)
            self.ws.finish_instance(ident, display_name(filename), "upload", source)
        except BaseException:
            self.ws.discard_instance(ident)
            raise
        return ident

    def _after_open(self, ident: str, action: str) -> Response:
        loaded = self.ws.load_version(ident)
        if action == "solve" and loaded.instance is not None:
            run_id = self._start(ident, "solve", {})
            return RedirectResponse(f"/runs/{run_id}", status_code=303)
        return RedirectResponse(f"/instances/{ident}", status_code=303)

    def open_example(self, request: Request) -> Response:
        from optimizer.examples import bundled, copy_example

        name = request.path_params["name"]
        match = next((e for e in bundled() if e["name"] == name), None)
        if match is None:
            raise NotFound
        ident, folder = self.ws.new_instance()
        try:
            copy_example(Path(match["path"]).parent, folder / "src")
            self.ws.finish_instance(ident, match["name"], "example",
                                    folder / "src" / Path(match["path"]).name)
        except BaseException:
            self.ws.discard_instance(ident)
            raise
        return RedirectResponse(f"/instances/{ident}", status_code=303)

    # ----------------------------------------------------------------- instance
    def instance(self, request: Request, status: int = 200, edit_problems: Any = None,
                 edit_message: str | None = None) -> Response:
        from optimizer.input.limits import limits
        from optimizer.input.schema import RuleKind

        ident = request.path_params["ident"]
        meta = self.ws.instance_meta(ident)
        loaded = self.ws.load_version(ident)
        inst = loaded.instance
        tables: list[dict[str, Any]] = []
        if inst is not None:
            data = inst.to_dict()
            for key, rows in data.items():
                if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict):
                    continue
                columns: list[str] = []
                for row in rows:
                    columns += [c for c in row if c not in columns]
                tables.append({"name": key, "columns": columns, "count": len(rows),
                               "rows": [[row.get(c) for c in columns]
                                        for row in rows[:TABLE_ROWS]]})
            settings = {k: v for k, v in data.items() if not isinstance(v, list)
                        or not v or not isinstance(v[0], dict)}
        else:
            settings = {}
        shown = limits().max_problems_shown
        runs = [r for r in self.ws.runs() if r.get("instance_id") == ident]

        return self.page(
            request, "instance.html", status, title=meta["name"], meta=meta, ident=ident,
            version=len(meta["versions"]), inst=inst, loaded=loaded,
            errors=loaded.errors, problems=loaded.problems[:shown],
            more=max(0, len(loaded.problems) - shown), tables=tables, settings=settings,
            runs=runs, kinds=KINDS, rule_kinds=get_args(RuleKind),
            edit_problems=edit_problems,
            edit_message=edit_message,
            frontier_rules=[r for r in (inst.rules if inst else []) if r.limit is not None])

    async def edit_rules(self, request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=2000)
        fields = {k: str(v) for k, v in form.items()}
        return await run_in_threadpool(self._edit_rules, request, fields)

    def _edit_rules(self, request: Request, fields: dict[str, str]) -> Response:
        from optimizer.errors import InputError
        from optimizer.input import load_instance
        from optimizer.input.workbook import read_notes, write_workbook

        ident = request.path_params["ident"]
        meta = self.ws.instance_meta(ident)
        version = len(meta["versions"])
        inst = self.ws.load_version(ident).instance
        if inst is None:
            return self.instance(request, 409, edit_message="The instance has problems; "
                                 "fix them in the file and upload it again before editing.")
        if fields.get("version") != str(version):
            return self.instance(request, 409, edit_message="The instance changed since this "
                                 "page was opened (another edit was saved): the form below "
                                 "shows it now; make the change again.")
        try:
            edited, notes = apply_edits(inst, fields)
        except ValueError as exc:
            return self.instance(request, 422, edit_message=str(exc))
        if not notes:
            return self.instance(request, 200, edit_message="Nothing to save: no limit "
                                 "changed, no rule dropped or added.")
        folder = self.ws.folder("instances", ident)
        tmp = folder / f".edit-{os.getpid()}-{time.monotonic_ns()}.xlsx"
        try:
            source = self.ws.version_path(ident)
            kept: list[Any] = []
            if source.suffix.lower() == ".xlsx":
                with contextlib.suppress(Exception):
                    kept = read_notes(source)
            write_workbook(edited, tmp, notes=kept)
            try:
                load_instance(tmp)
            except InputError as err:
                shown = [str(renamed(p, tmp, "the edited rules", folder)) for p in err.problems]
                return self.instance(request, 422, edit_problems=shown,
                                     edit_message="The edit was not saved: the instance would "
                                     "have these problems.")
            n = self.ws.add_version(ident, tmp, "; ".join(notes))
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        return RedirectResponse(f"/instances/{ident}?saved={n}", status_code=303)

    def download_instance(self, request: Request) -> Response:
        """The instance's latest version (or ``?v=N``) as .xlsx."""
        from optimizer.input.workbook import collect_notes, write_workbook

        ident = request.path_params["ident"]
        meta = self.ws.instance_meta(ident)
        try:
            n = int(request.query_params.get("v") or len(meta["versions"]))
        except ValueError:
            raise NotFound from None
        path = self.ws.version_path(ident, n)
        name = self.ws.version_display(meta, n).split("/")[-1]
        if not name.lower().endswith(".xlsx"):
            name = re.sub(r"\.(ya?ml|zip)$", "", str(meta["name"]), flags=re.I) + ".xlsx"
        if path.suffix.lower() == ".xlsx":
            return FileResponse(path, filename=name)
        folder = self.ws.folder("instances", ident)
        cached = folder / f"v{n}-converted.xlsx"
        if not cached.is_file():
            loaded = self.ws.load_version(ident, n)
            if loaded.instance is None:
                return self.refusal(request, "The instance has problems (listed on its page), "
                                    "so it cannot be written as a workbook.", 409)
            notes: list[Any] = []
            with contextlib.suppress(Exception):
                from optimizer.input.load import read_raw

                notes = collect_notes(read_raw(path))
            tmp = folder / f".{cached.name}.{time.monotonic_ns()}.tmp.xlsx"
            write_workbook(loaded.instance, tmp, notes=notes)
            os.replace(tmp, cached)
        return FileResponse(cached, filename=name)

    def start_run(self, request: Request, fields: dict[str, str]) -> Response:
        ident = request.path_params["ident"]
        self.ws.instance_meta(ident)
        kind = fields.get("kind", "")
        if kind not in KINDS:
            return self.refusal(request, f"Unknown kind of run '{kind[:40]}'.", 400)
        inst = self.ws.load_version(ident).instance
        if inst is None:
            return self.refusal(request, "The instance has problems (listed on its page): fix "
                                "them before running it.", 409)
        params: dict[str, Any] = {}
        if kind == "frontier":
            rule = fields.get("rule", "")
            if rule not in {r.name for r in inst.rules}:
                return self.refusal(request, "Choose one of the instance's rules to sweep.", 400)
            params = {"rule": rule, "values": fields.get("values", "")[:PARAM_CHARS]}
        elif kind == "alternatives":
            from optimizer.labels import fraction_or_percent

            text = (fields.get("slack") or "2%").strip()[:40]
            try:
                params = {"slack": fraction_or_percent(text, 0.0, 10.0)}
            except ValueError as exc:
                return self.refusal(request, f"Premium allowed: {exc}.", 400)
        run_id = self._start(ident, kind, params)
        return RedirectResponse(f"/runs/{run_id}", status_code=303)

    async def start_run_async(self, request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=20)
        fields = {k: str(v) for k, v in form.items()}
        return await run_in_threadpool(self.start_run, request, fields)

    def _start(self, ident: str, kind: str, params: dict[str, Any]) -> str:
        meta = self.ws.instance_meta(ident)
        version = len(meta["versions"])
        path = self.ws.version_path(ident, version)
        inst = self.ws.load_version(ident, version).instance
        rules = [{"name": r.name, "kind": r.kind, "limit": r.limit}
                 for r in (inst.rules if inst else [])]
        run_id = self.ws.new_run({
            "kind": kind, "label": KINDS[kind], "instance_id": ident,
            "instance_name": meta["name"], "title": inst.name if inst else meta["name"],
            "version": version, "instance_file": self.ws.relative(path), "params": params,
            "rules": rules})
        self.jobs.submit(run_id)
        return run_id

    # ----------------------------------------------------------------- runs
    def run_page(self, request: Request) -> Response:
        run_id = request.path_params["ident"]
        record = self.ws.run(run_id)
        files = [{"name": p.name, "size": p.stat().st_size} for p in self.ws.output_files(run_id)]
        others = [r for r in self.ws.runs() if r.get("kind") == "solve"
                  and r.get("status") == "done" and r["id"] != run_id]
        return self.page(request, "run.html", title=f"{record.get('label')}: "
                         f"{record.get('instance_name')}", run=record, files=files,
                         finished=record.get("status") in FINISHED, others=others,
                         progress=self.ws.progress(run_id), position=self.jobs.position(run_id),
                         has_report=any(f["name"] == "report.html" for f in files))

    def run_status(self, request: Request) -> Response:
        run_id = request.path_params["ident"]
        record = self.ws.run(run_id)
        started = record.get("started")
        return JSONResponse({
            "status": record.get("status"), "finished": record.get("status") in FINISHED,
            "progress": self.ws.progress(run_id), "position": self.jobs.position(run_id),
            "elapsed": round((record.get("finished") or now()) - started, 1) if started else None,
        })

    def cancel(self, request: Request) -> Response:
        run_id = request.path_params["ident"]
        self.ws.run(run_id)
        self.jobs.cancel(run_id)
        return RedirectResponse(f"/runs/{run_id}", status_code=303)

    def run_file(self, request: Request) -> Response:
        run_id = request.path_params["ident"]
        folder = self.ws.folder("runs", run_id) / "out"
        path = self.ws.served_file(folder, request.path_params["name"])
        if path.suffix.lower() == ".html":
            return FileResponse(path, media_type="text/html; charset=utf-8",
                                headers={"Content-Security-Policy": REPORT_CSP},
                                content_disposition_type="inline", filename=path.name)
        return FileResponse(path, filename=path.name)

    def run_instance(self, request: Request) -> Response:
        """The instance a run ran, as .xlsx (its version, converted if need be)."""
        record = self.ws.run(request.path_params["ident"])
        ident = str(record.get("instance_id", ""))
        url = f"/instances/{ident}/instance.xlsx?v={int(record.get('version') or 1)}"
        self.ws.instance_meta(ident)
        return RedirectResponse(url, status_code=303)

    # ----------------------------------------------------------------- compare
    def compare(self, request: Request) -> Response:
        from optimizer.web.compare import comparison

        a, b = request.query_params.get("a", ""), request.query_params.get("b", "")
        ra, rb = self.ws.run(a), self.ws.run(b)
        for r in (ra, rb):
            if r.get("kind") != "solve" or r.get("status") != "done":
                return self.refusal(request, "Two finished solves can be compared; "
                                    f"run '{r.get('label')}' of {r.get('instance_name')} is "
                                    f"{r.get('kind')}, {r.get('status')}.", 400)
        data = comparison(self.ws, ra, rb)
        return self.page(request, "compare.html", title="Compare two runs", a=ra, b=rb, **data)

    # ----------------------------------------------------------------- errors
    async def not_found(self, request: Request, exc: Exception) -> Response:
        return self.page(request, "error.html", 404, title="Not found",
                         message="There is nothing here.", details=[])

    async def server_error(self, request: Request, exc: Exception) -> Response:
        return self.page(request, "error.html", 500, title="Error",
                         message=f"Internal error ({type(exc).__name__}). This is a bug; "
                                 "please report it with what you did.", details=[])


def create_app(workspace: str | Path = "optimizer-workspace", *, slots: int = 2,
               allowed_hosts: list[str] | None = None) -> Starlette:
    """The application over the workspace folder ``workspace`` (created if
    missing). ``slots``: runs at a time. ``allowed_hosts``: the Host headers
    answered (None: any), against DNS rebinding when bound to loopback."""
    web = WebApp(workspace, slots=slots)

    async def run_status(request: Request) -> Response:
        return await run_in_threadpool(web.run_status, request)

    async def favicon(request: Request) -> Response:
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")

    async def edit(request: Request) -> Response:
        return await web.edit_rules(request)

    routes = [
        Route("/", web.home),
        Route("/upload", web.upload, methods=["POST"]),
        Route("/examples/{name}/open", web.open_example, methods=["POST"]),
        Route("/instances/{ident}", web.instance),
        Route("/instances/{ident}/rules", edit, methods=["POST"]),
        Route("/instances/{ident}/runs", web.start_run_async, methods=["POST"]),
        Route("/instances/{ident}/instance.xlsx", web.download_instance),
        Route("/runs/{ident}", web.run_page),
        Route("/runs/{ident}/status", run_status),
        Route("/runs/{ident}/cancel", web.cancel, methods=["POST"]),
        Route("/runs/{ident}/instance.xlsx", web.run_instance),
        Route("/runs/{ident}/files/{name}", web.run_file),
        Route("/compare", web.compare),
        Route("/favicon.ico", favicon),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [Middleware(SecurityHeaders)]
    if allowed_hosts is not None:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        web.jobs.start()
        try:
            yield
        finally:
            web.jobs.stop()

    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={NotFound: web.not_found, 404: web.not_found,
                                        500: web.server_error})
    app.state.web = web
    return app
