"""The docs against the code: every environment variable the settings read, every error code,
every relative link, and the README's shape.

Environment variables are collected from the code itself (its AST), not from a list kept
here: in config/settings/*.py, every `require("X")`, `optional("X", ...)`,
`redis_url_with_credentials("X")`, `ip_networks("X", ...)`, `env.<cast>("X", ...)`,
`os.environ.get("X")`, `os.environ["X"]` and `os.getenv("X")`; in deploy/gunicorn.conf.py,
the same plus `_env("NAME", ...)`, which reads GUNICORN_NAME. Each GUNICORN_* variable is
documented on its own (with its default) rather than as a family, so a new gunicorn setting
needs a row too. A variable counts as documented when it is the backticked first cell of a
table row in docs/operations.md.
"""

import ast
import json
import re
import shutil
from pathlib import Path

import pytest

from minihub.core.errors import ERROR_STATUS
from tests.helpers import PROJECT_DIR

OPERATIONS = PROJECT_DIR / "docs" / "operations.md"
API = PROJECT_DIR / "docs" / "api.md"
README = PROJECT_DIR / "README.md"
SETTINGS_FILES = sorted((PROJECT_DIR / "config" / "settings").glob("*.py"))
GUNICORN_CONF = PROJECT_DIR / "deploy" / "gunicorn.conf.py"
# The one module allowed to read a variable whose name it was given: the helpers themselves.
HELPERS = PROJECT_DIR / "config" / "settings" / "env.py"
LINKED_DOCS = [
    README,
    *sorted((PROJECT_DIR / "docs").glob("*.md")),
    PROJECT_DIR / "bench" / "README.md",
    PROJECT_DIR / "bench" / "results" / "INDEX.md",
    PROJECT_DIR / "clients" / "wx" / "README.md",
]
# Where a documented variable may be read, besides the settings: the process manager, the
# deploy, make run's script.
READERS = ["config", "deploy", "minihub", "scripts", "fabfile.py", "Makefile"]

NAME_READERS = {"require", "optional", "redis_url_with_credentials", "ip_networks"}
ENV_VAR = re.compile(r"^[A-Z][A-Z0-9_]*$")


# --- environment variables -----------------------------------------------------------------


def _is_os_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _read_name(node: ast.AST, *, gunicorn: bool) -> tuple[bool, str | None]:
    """(does this node read the environment, the variable's name if it is a constant)."""
    argument = None
    if isinstance(node, ast.Subscript) and _is_os_environ(node.value):
        argument = node.slice
    elif isinstance(node, ast.Call) and node.args:
        func = node.func
        reads = (
            (isinstance(func, ast.Name) and func.id in NAME_READERS)
            or (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "env"
            )
            or (
                isinstance(func, ast.Attribute)
                and func.attr == "get"
                and _is_os_environ(func.value)
            )
            or (
                isinstance(func, ast.Attribute)
                and func.attr == "getenv"
                and isinstance(func.value, ast.Name)
                and func.value.id == "os"
            )
        )
        if gunicorn and isinstance(func, ast.Name) and func.id == "_env":
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                return True, f"GUNICORN_{first.value}"
            return True, None
        if not reads:
            return False, None
        argument = node.args[0]
    else:
        return False, None
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return True, argument.value
    return True, None


def _variables_read(path: Path, *, gunicorn: bool = False) -> tuple[set[str], list[int]]:
    """The constant names `path` reads, and the lines of reads whose name is not a constant."""
    names, dynamic = set(), []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        reads, name = _read_name(node, gunicorn=gunicorn)
        if reads and name:
            names.add(name)
        elif reads:
            dynamic.append(node.lineno)
    return names, dynamic


def settings_variables() -> set[str]:
    names = set()
    for path in SETTINGS_FILES:
        found, dynamic = _variables_read(path)
        assert path == HELPERS or not dynamic, (
            f"{path.name}, lines {dynamic}: a variable read by a computed name; "
            "read it by its literal name so that this test can see it"
        )
        names |= found
    found, dynamic = _variables_read(GUNICORN_CONF, gunicorn=True)
    # _env's own body reads f"GUNICORN_{name}": the family this test expands from _env calls.
    assert len(dynamic) <= 1, f"gunicorn.conf.py, lines {dynamic}: computed names"
    return names | found


def _table_first_cells(text: str) -> list[str]:
    cells = []
    for line in _outside_code(text):
        if line.startswith("|") and not re.match(r"^\|\s*-", line):
            cells.append(line.split("|")[1].strip())
    return cells


def documented_variables() -> set[str]:
    names = set()
    for cell in _table_first_cells(OPERATIONS.read_text()):
        match = re.fullmatch(r"`([^`]+)`", cell)
        if match and ENV_VAR.match(match.group(1)):
            names.add(match.group(1))
    return names


def test_collector_sees_every_kind_of_read(tmp_path):
    """The collector itself: each form of read it claims to see, seen."""
    source = (
        'import os\nA = require("R1")\nB = optional("O1", "x")\nC = env.int("E1", default=1)\n'
        'D = env.bool("E2")\nE = ip_networks("I1", "")\nF = redis_url_with_credentials("U1")\n'
        'G = os.environ.get("G1")\nH = os.environ["G2"]\nI = os.getenv("G3")\nJ = _env("PORT", 1)\n'
        "K = os.environ.get(name)\n"
    )
    path = tmp_path / "settings.py"
    path.write_text(source)
    names, dynamic = _variables_read(path, gunicorn=True)
    assert names == {"R1", "O1", "E1", "E2", "I1", "U1", "G1", "G2", "G3", "GUNICORN_PORT"}
    assert dynamic == [12]


def test_every_variable_the_settings_read_is_documented():
    read = settings_variables()
    assert {"SECRET_KEY", "DATABASE_URL", "TRUSTED_PROXY_IPS", "GUNICORN_WORKERS"} <= read
    missing = sorted(read - documented_variables())
    assert not missing, f"read by the settings, not in docs/operations.md's tables: {missing}"


def _repository_text() -> str:
    texts = []
    for entry in READERS:
        path = PROJECT_DIR / entry
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            if "__pycache__" in file.parts:
                continue
            try:
                texts.append(file.read_text())
            except (UnicodeDecodeError, OSError):
                continue
    return "\n".join(texts)


def test_every_documented_variable_is_read_somewhere():
    code = _repository_text()
    unread = sorted(
        name
        for name in documented_variables() - settings_variables()
        if not re.search(rf"\b{name}\b", code)
    )
    assert not unread, f"documented in docs/operations.md but read nowhere: {unread}"


# --- error codes -------------------------------------------------------------------------------


def error_table() -> dict[str, int]:
    """docs/api.md's "Error codes" table: code -> status."""
    section = API.read_text().split("\n## Error codes\n", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in _outside_code(section):
        match = re.match(r"^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|", line)
        if match:
            code, status = match.group(1), int(match.group(2))
            assert code not in table, f"{code} listed twice"
            table[code] = status
    return table


def test_the_error_table_lists_every_code_with_its_status():
    documented = error_table()
    assert sorted(set(ERROR_STATUS) - set(documented)) == [], "codes missing from docs/api.md"
    assert sorted(set(documented) - set(ERROR_STATUS)) == [], "docs/api.md lists unknown codes"
    wrong = {c: (s, ERROR_STATUS[c]) for c, s in documented.items() if ERROR_STATUS[c] != s}
    assert not wrong, f"documented status, real status: {wrong}"


# --- links -----------------------------------------------------------------------------------

FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def _outside_code(text: str) -> list[str]:
    """The lines of `text` outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def github_anchor(heading: str) -> str:
    """GitHub's anchor of a heading: formatting dropped, lowercase, punctuation removed,
    spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links: their text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found, seen = set(), {}
    for line in _outside_code(path.read_text()):
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        anchor = github_anchor(match.group(1))
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.add(anchor if count == 0 else f"{anchor}-{count}")
    return found


def relative_links(path: Path) -> list[str]:
    targets = []
    for line in _outside_code(path.read_text()):
        line = re.sub(r"`[^`]*`", "", line)  # code spans are not links
        targets += [t for t in LINK.findall(line) if not SCHEME.match(t)]
    return targets


def test_anchor_rules():
    assert (
        github_anchor("Runtime: gunicorn, supervisor, logs") == "runtime-gunicorn-supervisor-logs"
    )
    assert github_anchor("The mini-program side: `clients/wx`") == "the-mini-program-side-clientswx"
    assert github_anchor("Login, tokens and the user's data") == "login-tokens-and-the-users-data"


@pytest.mark.parametrize("doc", LINKED_DOCS, ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_no_relative_link_is_broken(doc):
    assert doc.exists(), doc
    broken = []
    for target in relative_links(doc):
        file_part, _, anchor = target.partition("#")
        linked = (doc.parent / file_part).resolve() if file_part else doc
        if PROJECT_DIR.resolve() not in (linked, *linked.parents):
            broken.append(f"{target}: outside the repository")
        elif not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading with this anchor")
    assert not broken, f"{doc.relative_to(PROJECT_DIR)}: {broken}"


def test_the_link_check_finds_a_broken_link(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n[ok](#title) [bad](#nothing) `[code](missing.md)`\n")
    assert relative_links(doc) == ["#title", "#nothing"]
    assert "title" in anchors(doc) and "nothing" not in anchors(doc)


# --- the README and the bench index ------------------------------------------------------------


def test_readme_is_short_and_starts_with_the_two_commands():
    lines = README.read_text().splitlines()
    assert len(lines) < 250, f"README.md has {len(lines)} lines; move details into docs/"
    head = "\n".join(lines[:60])
    assert re.search(r"^make run\b", head, re.MULTILINE), "`make run` not in the first 60 lines"
    assert re.search(r"^make test\b", head, re.MULTILINE), "`make test` not in the first 60 lines"


def test_the_bench_index_names_the_newest_recorded_run(tmp_path):
    """bench/results/INDEX.md is what the bench would write for the runs recorded there."""
    from bench import report
    from bench.outputs import INDEX, index_write

    results = PROJECT_DIR / "bench" / "results"
    for path in results.glob("*.json"):
        json.loads(path.read_text())  # every recorded run is readable
        shutil.copy(path, tmp_path / path.name)
    written = index_write(tmp_path, report=report).read_text()
    assert (results / INDEX).read_text() == written, "run the bench's index_write, or commit it"
    assert not list(results.glob("latest*")), "runs are kept under their dated names only"
