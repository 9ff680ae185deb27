"""mkdocs hook: the REST reference page, generated from the server's OpenAPI document, so it
lists exactly the routes the server serves."""

from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

PAGE = "reference/rest.md"
METHODS = ("get", "post", "put", "patch", "delete")


def schema_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"list of {schema_name(schema.get('items', {}))}"
    if "anyOf" in schema:
        return " or ".join(schema_name(option) for option in schema["anyOf"])
    return str(schema.get("type", "object"))


def operation_lines(method: str, path: str, operation: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", ""]
    summary = operation.get("description") or operation.get("summary") or ""
    if summary:
        lines += [summary.strip(), ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | type | required |", "|---|---|---|---|"]
        for parameter in parameters:
            lines.append(
                f"| `{parameter['name']}` | {parameter['in']} | "
                f"{schema_name(parameter.get('schema', {}))} | "
                f"{'yes' if parameter.get('required') else 'no'} |"
            )
        lines.append("")
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        lines += [f"Body: `{schema_name(body.get('schema', {}))}`", ""]
    answers = ", ".join(f"{code}" for code in operation.get("responses", {}))
    lines += [f"Answers: {answers}", ""]
    return lines


def reference_page() -> str:
    from trackboard.server.app import create_app

    document = create_app().openapi()
    lines = [
        "# REST API (generated)",
        "",
        "Every route of the server, from its OpenAPI document (also served at `/docs` and",
        "`/openapi.json`). MLflow's routes are listed under `/api/2.0/mlflow` and",
        "`/ajax-api/2.0/mlflow`; see the MLflow page for what each does.",
        "",
    ]
    by_tag: dict[str, list[str]] = {}
    for path, item in sorted(document["paths"].items()):
        for method in METHODS:
            if method in item:
                operation = item[method]
                tag = (operation.get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).extend(operation_lines(method, path, operation))
    for tag in sorted(by_tag):
        lines += [f"## {tag}", "", *by_tag[tag]]
    return "\n".join(lines)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    files.append(File.generated(config, PAGE, content=reference_page()))
    return files
