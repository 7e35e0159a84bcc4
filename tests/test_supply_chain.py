"""Supply chain and configuration: no secret committed, vulnerable locks fail, CORS closed."""

import json
import subprocess
import sys

import pytest

from tests.helpers import PROJECT_DIR

DETECT_SECRETS = str(PROJECT_DIR / ".venv" / "bin" / "detect-secrets")
# Tests hold throwaway credentials on purpose; the lock file holds hashes.
NOT_SCANNED = ("tests/", "uv.lock")


def scan(paths: list[str], cwd=PROJECT_DIR) -> dict:
    result = subprocess.run(
        [DETECT_SECRETS, "scan", *paths], cwd=cwd, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)["results"]


def tracked_files() -> list[str]:
    files = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    ).stdout.split()
    return [name for name in files if not name.startswith(NOT_SCANNED)]


@pytest.mark.slow
def test_no_key_dsn_or_password_is_committed():
    findings = scan(tracked_files())
    described = [
        f"{path}:{item['line_number']} {item['type']}"
        for path, items in findings.items()
        for item in items
    ]
    assert described == []


def test_the_secret_scanner_catches_a_planted_secret(tmp_path):
    planted = tmp_path / "settings_local.py"
    planted.write_text(
        'SENTRY_DSN = "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/42"\n'
        'DATABASE_URL = "mysql://app:Sup3rS3cretPassw0rd@db.internal:3306/minihub"\n'
        "AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE'\n"
    )
    findings = scan([planted.name], cwd=tmp_path)
    types = {item["type"] for item in findings[planted.name]}
    assert {"Basic Auth Credentials", "AWS Access Key"} <= types


def run_audit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "scripts/audit_dependencies.py", *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_known_vulnerability_in_the_lock_fails_the_audit():
    result = run_audit("--from-json", "tests/data/pip-audit-vulnerable.json")
    assert result.returncode == 1
    assert "django 4.2.0: PYSEC-2023-100 (fixed in: 4.2.2)" in result.stdout
    assert "could not be audited" in result.stdout and "anyio" in result.stdout


def test_a_clean_report_passes_the_audit(tmp_path):
    clean = tmp_path / "clean.json"
    clean.write_text(
        json.dumps(
            {"dependencies": [{"name": "django", "version": "5.2.19", "vulns": []}], "fixes": []}
        )
    )
    result = run_audit("--from-json", str(clean))
    assert result.returncode == 0
    assert "1 audited, no known vulnerability" in result.stdout


@pytest.mark.parametrize("method", ["get", "options"])
def test_cors_is_closed(client, method):
    response = getattr(client, method)(
        "/api/v2/ping",
        HTTP_ORIGIN="https://evil.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
    )
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Credentials" not in response
