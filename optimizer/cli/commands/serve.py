"""``optimizer serve [--port N] [--workspace DIR] [--host ADDRESS]``: the web
workspace (SPEC section 11), a local web application for procurement teams:
open or upload an instance, edit its rules, solve, read the report, compare
runs, run what-ifs, download every output.

Bound to 127.0.0.1 unless ``--host`` says otherwise (with a warning: the
workspace has no log-in). Files live in the workspace folder (default
``./optimizer-workspace``), and nowhere else.
"""

from __future__ import annotations

import argparse
import ipaddress

from rich.console import Console
from rich.markup import escape

from optimizer.cli.common import EXIT_PLAN, UsageError, whole_number

NAME = "serve"
HELP = "start the web workspace: upload, edit rules, solve, compare and download in a browser"

DEFAULT_PORT = 8765
DEFAULT_WORKSPACE = "optimizer-workspace"
LOOPBACK = "127.0.0.1"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=whole_number(0), default=DEFAULT_PORT, metavar="N",
                   help=f"port to listen on (default {DEFAULT_PORT}; 0: any free port)")
    p.add_argument("--workspace", default=DEFAULT_WORKSPACE, metavar="DIR",
                   help="folder for uploaded instances and runs, created if missing "
                        f"(default ./{DEFAULT_WORKSPACE})")
    p.add_argument("--host", default=LOOPBACK, metavar="ADDRESS",
                   help="address to listen on (default 127.0.0.1: this computer only). "
                        "Anything else lets other computers in, without a log-in")
    p.add_argument("--runs", type=whole_number(1), default=2, metavar="N",
                   help="runs solved at the same time, each in its own process (default 2)")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace, console: Console) -> int:
    if args.port > 65535:
        raise UsageError(f"--port must be at most 65535, got {args.port}")
    try:
        import uvicorn
    except ImportError:
        raise UsageError("the web workspace needs the package 'uvicorn' (pip install "
                         "battery-sourcing-optimizer installs it)") from None
    from optimizer.input.limits import limits, set_limits
    from optimizer.web.app import create_app

    if limits().allow_outside:
        # uploads are read as data: their tables stay inside their own folder
        set_limits(allow_outside=False)
        console.print("[yellow]note:[/] --allow-outside-tables does not apply to uploads; "
                      "their tables are read only from inside their own folder")
    loopback = is_loopback(args.host)
    if not loopback:
        console.print(f"[bold yellow]warning:[/] listening on {escape(args.host)}: other "
                      "computers that reach this one can open the workspace, with no log-in")
    allowed = ["127.0.0.1", "localhost", "::1", "[::1]"] if loopback else None
    app = create_app(args.workspace, slots=args.runs, allowed_hosts=allowed)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning",
                            access_log=False, lifespan="on", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    host = f"[{args.host}]" if ":" in args.host else args.host

    def started() -> None:
        port = args.port
        for s in getattr(server, "servers", []):
            for sock in s.sockets:
                port = sock.getsockname()[1]
        console.print(f"the workspace is at http://{host}:{port}/ (Ctrl+C stops it)",
                      markup=False, highlight=False)
        console.print(f"workspace folder: {app.state.web.ws.root}", markup=False,
                      highlight=False, soft_wrap=True)
        console.file.flush()

    _announce_when_started(server, started)
    server.run()
    return EXIT_PLAN


def _announce_when_started(server: object, announce: object) -> None:
    """Print the address once uvicorn listens (its ``startup`` then returns)."""
    original = server.startup  # type: ignore[attr-defined]

    async def startup(sockets: object = None) -> None:
        await original(sockets=sockets)
        if getattr(server, "started", False):
            announce()  # type: ignore[operator]

    server.startup = startup  # type: ignore[attr-defined]
