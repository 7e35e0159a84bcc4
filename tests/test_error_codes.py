"""Every error code of the envelope is used by the code and documented, with its status.

Used: raised (ApiError) or mapped (an exception handler, CODE_FOR_STATUS) somewhere in
minihub/ or config/, found as a string in the source other than ERROR_STATUS's own keys.
Documented: the error table of docs/api.md (README.md's while docs/api.md does not exist),
a markdown table with a `code` column of backticked codes and a `status` column.
"""

import ast
import re

from minihub.core.errors import ERROR_STATUS
from tests.helpers import PROJECT_DIR

SOURCE_DIRS = ("minihub", "config")
ERRORS_MODULE = PROJECT_DIR / "minihub" / "core" / "errors.py"
BACKTICKED = re.compile(r"`([a-z_]+)`")


def _error_status_node(tree: ast.Module) -> ast.Dict:
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "ERROR_STATUS" for target in node.targets
        ):
            return node.value
    raise AssertionError("ERROR_STATUS is not assigned in minihub/core/errors.py")


def strings_in_source() -> set[str]:
    """Every string constant of the source, except the keys that declare the codes."""
    found = set()
    for directory in SOURCE_DIRS:
        for path in (PROJECT_DIR / directory).rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            skipped = set()
            if path == ERRORS_MODULE:
                skipped = {id(key) for key in _error_status_node(tree).keys}
            found.update(
                node.value
                for node in ast.walk(tree)
                if isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in skipped
            )
    return found


def error_table_document():
    docs_api = PROJECT_DIR / "docs" / "api.md"
    return docs_api if docs_api.exists() else PROJECT_DIR / "README.md"


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def documented_statuses(markdown: str) -> dict[str, str]:
    """code -> status cell, from every table whose header has a `code` column."""
    documented: dict[str, str] = {}
    header: list[str] | None = None
    for line in markdown.splitlines():
        if not line.lstrip().startswith("|"):
            header = None
            continue
        cells = _cells(line)
        if header is None:
            header = [cell.lower() for cell in cells]
            continue
        if "code" not in header or set(line.strip()) <= set("|-: "):
            continue
        code = BACKTICKED.fullmatch(cells[header.index("code")])
        if code:
            status = cells[header.index("status")] if "status" in header else ""
            documented[code.group(1)] = status
    return documented


def test_every_code_is_raised_or_mapped_somewhere():
    unused = sorted(set(ERROR_STATUS) - strings_in_source())
    assert unused == [], f"codes nothing raises or maps: {unused}"


def test_every_code_is_documented_with_its_status():
    document = error_table_document()
    documented = documented_statuses(document.read_text())
    expected = {code: str(status) for code, status in ERROR_STATUS.items()}
    assert documented == expected, f"{document.relative_to(PROJECT_DIR)}'s error table"


def test_the_table_reader_reads_codes_and_statuses():
    markdown = (
        "| name | value |\n|---|---|\n| `not_a_code` | 1 |\n\n"
        "| code | status | when |\n|---|---|---|\n"
        "| `bad_request` | 400 | malformed |\n| `conflict` | 409 | a race |\n"
    )
    assert documented_statuses(markdown) == {"bad_request": "400", "conflict": "409"}
