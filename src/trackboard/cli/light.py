"""The `trackboard` command of a client-only install (no server extra, so no Typer or Rich):
`--version`, `sync` with plain-text progress, and `export`; any other command says what to
install."""

import argparse
import sys
from pathlib import Path

from trackboard._version import __version__
from trackboard.cli.export import add_parser as add_export_parser
from trackboard.cli.export import run_export
from trackboard.client.settings import ClientSettings
from trackboard.client.spool import find_spools
from trackboard.client.sync import SyncResult, pending_bytes, result_line, sync_spool
from trackboard.client.transport import Transport

SERVER_EXTRA = "pip install 'trackboard[server]'"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="trackboard",
        description="Trackboard client commands (install the server extra for the rest: "
        f"{SERVER_EXTRA}).",
    )
    root.add_argument("--version", action="version", version=f"trackboard {__version__}")
    commands = root.add_subparsers(dest="command")
    sync = commands.add_parser("sync", help="Upload spooled runs; safe to re-run.")
    sync.add_argument("path", nargs="?", type=Path, help="A spool file or folder.")
    sync.add_argument("--url", help="Server URL (default: $TRACKBOARD_URL).")
    sync.add_argument("--api-key", help="API key (default: $TRACKBOARD_API_KEY).")
    sync.add_argument(
        "--retry-for", type=float, default=30.0, help="Seconds to keep retrying the server."
    )
    add_export_parser(commands)
    return root


def run_sync(path: Path | None, url: str | None, api_key: str | None, retry_for: float) -> int:
    settings = ClientSettings.from_env(url=url, api_key=api_key, mode="online")
    where = path or settings.spool_dir
    spools = find_spools(where)
    if not spools:
        print(f"Nothing to sync in {where}.", file=sys.stderr)
        return 0
    total = sum(pending_bytes(spool) for spool in spools)
    print(f"Syncing {len(spools)} run(s), {total:,} bytes", file=sys.stderr)
    results: list[SyncResult] = []
    transport = Transport(settings.url, settings.api_key, settings.request_timeout)
    try:
        for spool in spools:
            result = sync_spool(
                spool,
                transport,
                retry_for=retry_for,
                on_skip=lambda message: print(f"  {message}", file=sys.stderr),
            )
            results.append(result)
            outcome, line = result_line(result)
            print(f"{'skipped' if outcome == 'busy' else outcome} {line}", file=sys.stderr)
    finally:
        transport.close()
    return 1 if any(result.outcome == "failed" for result in results) else 0


def main(argv: list[str]) -> int:
    known = {"sync", "export", "--version", "-h", "--help"}
    if argv and argv[0] not in known:
        print(
            f"trackboard {argv[0]}: this install has the client only; for the server "
            f"commands run {SERVER_EXTRA}",
            file=sys.stderr,
        )
        return 2
    args = parser().parse_args(argv)
    if args.command == "export":
        return run_export(args)
    if args.command != "sync":
        parser().print_help()
        return 0
    return run_sync(args.path, args.url, args.api_key, args.retry_for)
