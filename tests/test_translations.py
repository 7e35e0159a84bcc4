"""MiniHub's own strings in Simplified Chinese: every one translated, the compiled catalogue
in step with the .po, nothing `makemessages` would add; the admin and the dashboard in Chinese
when the browser asks for it."""

import ast
import gettext
import shutil
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User as StaffUser
from django.core.management import call_command
from django.urls import reverse

from minihub.accounts.models import User

MINIHUB = Path(django_settings.BASE_DIR) / "minihub"
MESSAGES = MINIHUB / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_PATH = MESSAGES / "django.po"
MO_PATH = MESSAGES / "django.mo"
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def po_entries(path: Path) -> list[dict]:
    """The entries of a .po file: msgid, msgstr (plural forms joined) and flags."""
    entries, entry, field = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry is not None:
                entries.append(entry)
            entry, field = None, None
            continue
        if line.startswith("#~"):
            raise AssertionError(f"{path} keeps an obsolete entry: {line}")
        if entry is None:
            entry = {"msgid": "", "msgstr": "", "flags": set()}
        if line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[field] += ast.literal_eval(line)
        else:
            keyword, _, text = line.partition(" ")
            field = "msgstr" if keyword.startswith("msgstr") else keyword
            entry.setdefault(field, "")
            entry[field] += ast.literal_eval(text)
    return entries


def messages_of(entries: list[dict]) -> dict[str, str]:
    return {entry["msgid"]: entry["msgstr"] for entry in entries if entry["msgid"]}


def test_every_string_is_translated_and_none_is_fuzzy():
    entries = po_entries(PO_PATH)
    messages = messages_of(entries)
    assert len(messages) > 100, "the catalogue holds MiniHub's strings"
    untranslated = [msgid for msgid, msgstr in messages.items() if not msgstr.strip()]
    assert untranslated == [], f"untranslated in {PO_PATH}: {untranslated}"
    fuzzy = [entry["msgid"] or "(header)" for entry in entries if "fuzzy" in entry["flags"]]
    assert fuzzy == [], f"fuzzy in {PO_PATH}: {fuzzy}"


def test_the_compiled_catalogue_matches_the_po():
    with MO_PATH.open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    # _catalog is the parsed .mo; its "" key is the header, not a message.
    compiled_messages = {k: v for k, v in catalogue._catalog.items() if k != ""}
    assert compiled_messages == messages_of(po_entries(PO_PATH)), (
        f"{MO_PATH} is out of date: run `msgfmt -o {MO_PATH} {PO_PATH}`"
    )


def test_makemessages_finds_no_string_missing_from_the_po(tmp_path, monkeypatch, settings):
    """makemessages over a copy of the tree: every marked string of MiniHub is in the .po,
    and the .po holds nothing the code no longer uses."""
    assert shutil.which("xgettext"), "xgettext missing: install Debian's gettext package"
    tree = tmp_path / "minihub"
    shutil.copytree(MINIHUB, tree, ignore=shutil.ignore_patterns("__pycache__", "locale"))
    settings.LOCALE_PATHS = [tree / "locale"]
    monkeypatch.chdir(tree)
    call_command("makemessages", locale=["zh_Hans"], verbosity=0)
    fresh = set(messages_of(po_entries(tree / "locale/zh_Hans/LC_MESSAGES/django.po")))
    committed = set(messages_of(po_entries(PO_PATH)))
    assert sorted(fresh - committed) == [], (
        "strings marked for translation but missing from the .po: run "
        "`cd minihub && ../manage.py makemessages -l zh_Hans --no-obsolete`, translate, msgfmt"
    )
    assert sorted(committed - fresh) == [], "strings in the .po that the code no longer uses"


BOTH = ["default", "admin"]


@pytest.fixture
def staff_client(client, db):
    staff = StaffUser.objects.create_superuser("ops", "ops@example.com", "pw-0123456789")
    client.force_login(staff)
    return client


@pytest.mark.django_db(databases=BOTH)
def test_the_admin_speaks_chinese_when_the_browser_asks(staff_client, tenants):
    index = staff_client.get(reverse("admin:index"), **ZH).content.decode()
    for label in ("MiniHub 管理后台", "小程序用户", "订阅消息", "微信平台", "推送事件", "数据看板"):
        assert label in index, label
    programs = staff_client.get(reverse("admin:tenants_miniprogram_changelist"), **ZH)
    assert "消息推送模式" in programs.content.decode()  # a column: push_mode's verbose name
    add_form = staff_client.get(reverse("admin:tenants_miniprogram_add"), **ZH).content.decode()
    assert "必须与微信后台选择的消息推送模式一致" in add_form  # push_mode's help text
    assert "安全模式（密文）" in add_form  # a choice


@pytest.mark.django_db(databases=BOTH)
def test_an_admin_action_reports_in_chinese(staff_client, tenants):
    user = User.objects.create(mini_program=tenants.a, openid="openid-zh")
    response = staff_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "block_users", "_selected_action": [user.id]},
        follow=True,
        **ZH,
    )
    assert "已封禁 1 个用户，吊销 0 个令牌。" in response.content.decode()


@pytest.mark.django_db(databases=BOTH)
def test_the_dashboard_speaks_chinese_and_stays_english_without_asking(staff_client, tenants):
    url = reverse("admin:dashboard_figurehour_miniprogram", args=[tenants.a.id])
    chinese = staff_client.get(url, **ZH)
    html = chinese.content.decode()
    assert "当前状态" in html and "最近 24 小时" in html
    assert "待发送: 0" in html, "outbox states under their Chinese names"
    assert chinese.context["page_data"]["labels_text"]["logins_new"] == "新用户登录"
    english = staff_client.get(url)
    assert "Current state" in english.content.decode()
    assert english.context["page_data"]["labels_text"]["logins_new"] == "New users' logins"


@pytest.mark.django_db(databases=BOTH)
def test_the_api_stays_english_whatever_the_browser_asks(client, tenants):
    response = client.get("/api/v2/albums", **ZH)
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.isascii(), message
