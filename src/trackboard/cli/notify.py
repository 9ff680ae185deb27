"""`trackboard notify list|add|remove|test`: notification rules, through a server's API.

Talks to TRACKBOARD_URL (default http://127.0.0.1:5005) with TRACKBOARD_API_KEY, so the
server applies its roles and its checks of targets (a private address is refused).
"""

import json
import os
from typing import Annotated, Any

import httpx
import typer

app = typer.Typer(help="Notification rules: list, add, remove, test.", no_args_is_help=True)

UrlOption = Annotated[str, typer.Option(envvar="TRACKBOARD_URL", help="The server's base URL.")]
TRIGGER_HELP = (
    "A trigger: run.finished, run.failed, run.killed, run.alert, "
    "'metric.threshold:loss>5[@step]', 'metric.nan[:key]', 'run.stalled:30' (minutes)."
)


def api(url: str) -> httpx.Client:
    key = os.environ.get("TRACKBOARD_API_KEY")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=30.0)


def answer(response: httpx.Response) -> Any:
    if response.is_success:
        return response.json() if response.content else None
    try:
        message = response.json().get("message", response.text)
    except ValueError:
        message = response.text
    typer.secho(f"error {response.status_code}: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def parse_trigger(text: str) -> dict[str, Any]:
    """`metric.threshold:loss>5@100` → the API's trigger object (see TRIGGER_HELP)."""
    kind, _, rest = text.partition(":")
    if kind == "metric.threshold":
        body, _, step = rest.partition("@")
        for op in (">=", "<=", ">", "<"):
            key, found, value = body.partition(op)
            if found:
                trigger: dict[str, Any] = {
                    "type": kind,
                    "key": key,
                    "op": op,
                    "value": float(value),
                }
                if step:
                    trigger["after_step"] = int(step)
                return trigger
        raise typer.BadParameter(f"expected key>value in {text!r}")
    if kind == "metric.nan":
        return {"type": kind, "key": rest} if rest else {"type": kind}
    if kind == "run.stalled":
        return {"type": kind, "minutes": float(rest or 30)}
    return {"type": kind}


def parse_channels(
    webhook: list[str], secret: str | None, slack: list[str], email: list[str]
) -> list[dict[str, Any]]:
    channels: list[dict[str, Any]] = [
        {"type": "webhook", "url": url, **({"secret": secret} if secret else {})} for url in webhook
    ]
    channels += [{"type": "slack", "url": url} for url in slack]
    if email:
        channels.append({"type": "email", "to": email})
    return channels


@app.command("list")
def list_rules(url: UrlOption = "http://127.0.0.1:5005") -> None:
    """List the rules you can see."""
    with api(url) as client:
        rules = answer(client.get("/api/v1/notification-rules"))["rules"]
    for rule in rules:
        triggers = ", ".join(t["type"] for t in rule["triggers"])
        channels = ", ".join(c["type"] for c in rule["channels"])
        state = "" if rule["enabled"] else " (disabled)"
        typer.echo(f"{rule['id']}\t{rule['name']}{state}\t{triggers}\t→ {channels}")


@app.command()
def add(
    name: Annotated[str, typer.Argument(help="The rule's name.")],
    trigger: Annotated[list[str], typer.Option("--trigger", "-t", help=TRIGGER_HELP)],
    webhook: Annotated[list[str], typer.Option(help="A webhook URL.")] = [],  # noqa: B006
    secret: Annotated[str | None, typer.Option(help="HMAC secret for the webhooks.")] = None,
    slack: Annotated[list[str], typer.Option(help="A Slack incoming-webhook URL.")] = [],  # noqa: B006
    email: Annotated[list[str], typer.Option(help="An e-mail address.")] = [],  # noqa: B006
    experiment: Annotated[list[int], typer.Option(help="Experiment ids (default: all).")] = [],  # noqa: B006
    run_filter: Annotated[str | None, typer.Option(help="Only runs matching this filter.")] = None,
    project: Annotated[
        int | None, typer.Option(help="The project id, if you are in several.")
    ] = None,
    url: UrlOption = "http://127.0.0.1:5005",
) -> None:
    """Add a rule; prints it (without its secrets)."""
    body: dict[str, Any] = {
        "name": name,
        "triggers": [parse_trigger(text) for text in trigger],
        "channels": parse_channels(webhook, secret, slack, email),
    }
    if experiment:
        body["experiment_ids"] = experiment
    if run_filter:
        body["run_filter"] = run_filter
    if project is not None:
        body["project_id"] = project
    with api(url) as client:
        rule = answer(client.post("/api/v1/notification-rules", json=body))
    typer.echo(json.dumps(rule, indent=2))


@app.command()
def remove(
    rule_id: Annotated[int, typer.Argument(help="The rule's id.")],
    url: UrlOption = "http://127.0.0.1:5005",
) -> None:
    """Delete a rule."""
    with api(url) as client:
        answer(client.delete(f"/api/v1/notification-rules/{rule_id}"))
    typer.echo(f"removed rule {rule_id}")


@app.command("test")
def send_test(
    rule_id: Annotated[int, typer.Argument(help="The rule's id.")],
    url: UrlOption = "http://127.0.0.1:5005",
) -> None:
    """Send a test message to each of the rule's channels now."""
    with api(url) as client:
        results = answer(client.post(f"/api/v1/notification-rules/{rule_id}/test"))["results"]
    failed = False
    for result in results:
        outcome = "ok" if result["ok"] else f"failed: {result['error']}"
        failed = failed or not result["ok"]
        typer.echo(f"channel {result['channel_index']} ({result['type']}): {outcome}")
    if failed:
        raise typer.Exit(1)
