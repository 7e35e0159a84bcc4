"""Audit the locked dependencies for known vulnerabilities (pip-audit over uv.lock).

Fails (exit 1) when any locked package has a known vulnerability, naming each
with its advisory id and fixed versions. Packages the vulnerability service
could not be asked about are reported, loudly, without failing: no network
answer is not a vulnerability (on a machine whose package index serves no
vulnerability data, every package is reported that way).

usage: python scripts/audit_dependencies.py [--from-json pip-audit-output.json]
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
BIN = PROJECT_DIR / ".venv" / "bin"


def run_pip_audit() -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as requirements:
        subprocess.run(
            [
                BIN / "uv",
                "export",
                "-q",
                "--frozen",
                "--all-extras",
                "--no-emit-project",
                "--format",
                "requirements-txt",
                "-o",
                requirements.name,
            ],
            cwd=PROJECT_DIR,
            check=True,
        )
        result = subprocess.run(
            [
                BIN / "pip-audit",
                "-r",
                requirements.name,
                "--disable-pip",
                "--require-hashes",
                "--format",
                "json",
                "--progress-spinner",
                "off",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if not result.stdout.strip():
        sys.exit(f"pip-audit produced no report:\n{result.stderr}")
    return json.loads(result.stdout)


def summarize(report: dict) -> tuple[list[str], list[str], int]:
    """(vulnerable lines, unaudited package names, audited count)."""
    vulnerable, unaudited, audited = [], [], 0
    for dependency in report.get("dependencies", []):
        if "skip_reason" in dependency:
            unaudited.append(dependency["name"])
            continue
        audited += 1
        for vuln in dependency.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            vulnerable.append(
                f"{dependency['name']} {dependency['version']}: {vuln['id']} (fixed in: {fixes})"
            )
    return vulnerable, unaudited, audited


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-json", type=Path, help="read a saved pip-audit JSON report")
    args = parser.parse_args()
    report = json.loads(args.from_json.read_text()) if args.from_json else run_pip_audit()
    vulnerable, unaudited, audited = summarize(report)
    if unaudited:
        print(
            f"WARNING: {len(unaudited)} locked packages could not be audited "
            f"(vulnerability service unreachable or package unknown): {', '.join(unaudited)}"
        )
    if vulnerable:
        print("Known vulnerabilities in locked dependencies:")
        print("\n".join(f"  - {line}" for line in vulnerable))
        return 1
    print(f"dependency audit: {audited} audited, no known vulnerability")
    return 0


if __name__ == "__main__":
    sys.exit(main())
