"""`trackboard export`: every run an experiment's search matches, streamed to a file.

Client-only (httpx and the client's settings): it works on a `pip install trackboard`
without the server extra. The server builds the file (`POST /api/v1/runs/export`); this
writes its bytes as they arrive, so memory stays flat however many runs there are."""

import argparse
import os
import sys
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

import httpx

from trackboard._version import __version__
from trackboard.client.settings import ClientSettings

FORMATS = ("csv", "jsonl")


class ExportFailed(Exception):
    """The server refused the export or could not be reached; the message says why."""


def _error_text(response: httpx.Response) -> str:
    response.read()
    try:
        error = response.json().get("error", {})
        return f"{response.status_code} {error.get('code', '')}: {error.get('message', '')}"
    except ValueError:
        return f"{response.status_code}: {response.text[:200]}"


def experiment_id(client: httpx.Client, experiment: str) -> int:
    """An experiment given by id (all digits) or by name, as its id."""
    if experiment.isascii() and experiment.isdigit():
        return int(experiment)
    response = client.get(f"/api/v1/experiments/by-name/{quote(experiment, safe='')}")
    if response.status_code != 200:
        raise ExportFailed(f"experiment {experiment!r}: {_error_text(response)}")
    return int(response.json()["id"])


def stream_export(client: httpx.Client, body: dict[str, object], output: BinaryIO) -> int:
    """Write the export's bytes to `output` as they arrive; returns how many."""
    written = 0
    with client.stream("POST", "/api/v1/runs/export", json=body) as response:
        if response.status_code != 200:
            raise ExportFailed(_error_text(response))
        for part in response.iter_bytes():
            output.write(part)
            written += len(part)
    return written


def export_runs(
    *,
    experiment: str,
    filter_text: str | None = None,
    order_by: list[str] | None = None,
    file_format: str = "csv",
    columns: list[str] | None = None,
    output: Path | None = None,
    url: str | None = None,
    api_key: str | None = None,
    timeout: float = 300.0,
) -> int:
    """Export to `output` (stdout when None); returns the bytes written. A file is written
    beside its final name and renamed when complete, so a failed export leaves no half file."""
    settings = ClientSettings.from_env(url=url, api_key=api_key, mode="online")
    headers = {"User-Agent": f"trackboard-cli/{__version__}"}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    with httpx.Client(
        base_url=settings.url, headers=headers, timeout=httpx.Timeout(timeout, connect=10.0)
    ) as client:
        try:
            body: dict[str, object] = {
                "experiment_ids": [experiment_id(client, experiment)],
                "filter": filter_text,
                "order_by": order_by or [],
                "format": file_format,
            }
            if columns:
                body["columns"] = columns
            if output is None:
                return stream_export(client, body, sys.stdout.buffer)
            partial = output.with_name(f".{output.name}.part")
            try:
                with partial.open("wb") as file:
                    written = stream_export(client, body, file)
                os.replace(partial, output)
            finally:
                partial.unlink(missing_ok=True)
            return written
        except httpx.HTTPError as exc:
            raise ExportFailed(f"cannot reach {settings.url}: {exc}") from exc


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """The `export` subcommand of the client-only CLI."""
    command = commands.add_parser(
        "export", help="Write every run matching a search to a CSV or JSON-lines file."
    )
    command.add_argument("--experiment", required=True, help="Experiment id or name.")
    command.add_argument("--filter", help='MLflow filter, e.g. "metrics.acc > 0.9".')
    command.add_argument(
        "--order-by", action="append", default=[], help='e.g. "metrics.acc DESC" (repeatable).'
    )
    command.add_argument("--format", choices=FORMATS, default="csv")
    command.add_argument(
        "--columns", help="Comma-separated columns, e.g. name,params.lr,metrics.acc."
    )
    command.add_argument("-o", "--output", type=Path, help="File to write (default: stdout).")
    command.add_argument("--url", help="Server URL (default: $TRACKBOARD_URL).")
    command.add_argument("--api-key", help="API key (default: $TRACKBOARD_API_KEY).")


def run_export(args: argparse.Namespace) -> int:
    """Run the parsed `export` command; an exit status."""
    try:
        written = export_runs(
            experiment=args.experiment,
            filter_text=args.filter,
            order_by=args.order_by,
            file_format=args.format,
            columns=args.columns.split(",") if args.columns else None,
            output=args.output,
            url=args.url,
            api_key=args.api_key,
        )
    except ExportFailed as exc:
        print(f"trackboard export: {exc}", file=sys.stderr)
        return 1
    if args.output is not None:
        print(f"Wrote {written:,} bytes to {args.output}", file=sys.stderr)
    return 0
