"""Every answer carries the browser hardening headers; only /docs and /redoc relax the CSP."""

import httpx
import pytest

HARDENING = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/", {}),  # the dashboard's index.html, or the not-built page
        ("/experiments/1", {}),
        ("/api/v1/experiments", {}),
        ("/api/2.0/mlflow/experiments/get-by-name?experiment_name=none", {}),
        ("/healthz", {"Host": "evil.example"}),  # refused by the Host check
    ],
)
async def test_answers_carry_a_strict_policy_and_hardening_headers(
    open_client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> None:
    response = await open_client.get(path, headers=headers)
    for name, value in HARDENING.items():
        assert response.headers.get_list(name) == [value]
    policy = directives(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_api_docs_may_load_their_cdn_bundles_but_not_be_framed(
    open_client: httpx.AsyncClient, path: str
) -> None:
    response = await open_client.get(path)
    assert response.status_code == 200
    policy = directives(response.headers["content-security-policy"])
    assert "https://cdn.jsdelivr.net" in policy["script-src"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response.headers["x-frame-options"] == "DENY"
