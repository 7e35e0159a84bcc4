"""The operator's view in a real browser: Debian's headless Chromium, driven by Playwright,
against MiniHub on pytest-django's live server. Log in to the admin, read a mini-program's
charts after a scripted day of traffic, switch to Chinese, open /api/v2/docs with the network
to the outside blocked. Screenshots go to docs/screenshots/ (shown in docs/dashboard.md)."""

import os
import subprocess
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User as StaffUser
from django.urls import reverse
from django.utils import timezone

from minihub.core import figures
from minihub.dashboard.models import Figure, FigureHour
from tests.test_dashboard import LOGIN_PATH, traffic

pytestmark = [
    pytest.mark.system,
    pytest.mark.slow,
    pytest.mark.django_db(databases=["default", "admin"], transaction=True),
]

CHROMIUM = "/usr/bin/chromium"
ALLOW_ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # No name resolves but the live server's: the outside is unreachable even to requests
    # the page routing below would not see (the browser's own).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
CHARTS_DRAWN = "() => window.Chart && Object.keys(Chart.instances).length >= 10"
VIEWPORT = {"width": 1280, "height": 900}
SCREENSHOTS = Path(django_settings.BASE_DIR) / "docs" / "screenshots"
STAFF_NAME, STAFF_PASSWORD = "ops", "pw-0123456789-browser"
# Figures of an earlier hour, as the hourly roll-up would have left them in the database.
EARLIER_HOURS_AGO = 9
EARLIER = {figures.LOGIN_NEW: 3, figures.LOGIN_RETURNING: 4, figures.PLAYS: 5}


@pytest.fixture(scope="module")
def browser():
    # A missing browser is a failure: `make test` installs both (never skipped).
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} missing: install Debian's chromium (scripts/ensure-system-packages.sh system)"
    )
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
    assert fonts.strip(), "no Chinese font: install fonts-wqy-microhei (ensure-system-packages.sh)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the message is the point
        raise AssertionError("playwright missing: `make install-dev` (the dev extra)") from exc
    # Playwright's sync API keeps an event loop running in this thread, which Django takes
    # for an async context; the test's ORM calls are plain synchronous ones all the same.
    previous = os.environ.get(ALLOW_ASYNC_UNSAFE)
    os.environ[ALLOW_ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop(ALLOW_ASYNC_UNSAFE, None)
        else:
            os.environ[ALLOW_ASYNC_UNSAFE] = previous


@pytest.fixture
def page(browser, live_server):
    """A page that reaches MiniHub only: every request to another host is aborted."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    # The admin's navigation sidebar closed: the screenshots show the dashboard itself.
    context.add_init_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
    page = context.new_page()
    outside = []

    def only_minihub(route):
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_minihub)
    page.outside_requests = outside
    yield page
    context.close()


@pytest.fixture
def a_day_of_traffic(client, wechat, tenants):
    """This hour's traffic through real requests (logins through the fake WeChat server,
    plays, a 40029 fault), and an earlier hour of the day already rolled up."""
    done = traffic(client, wechat, tenants)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    earlier = FigureHour.objects.create(
        mini_program=tenants.a, hour=hour - timedelta(hours=EARLIER_HOURS_AGO), active_users=2
    )
    Figure.objects.bulk_create(
        Figure(hour_record=earlier, name=name, value=value) for name, value in EARLIER.items()
    )
    return done


def log_in_to_the_admin(page, base_url: str) -> None:
    StaffUser.objects.create_superuser(STAFF_NAME, "ops@example.com", STAFF_PASSWORD)
    page.goto(f"{base_url}{reverse('admin:login')}")
    page.fill("#id_username", STAFF_NAME)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    assert "/login/" not in page.url, "logged in"


def charts_by_series(page) -> dict[str, dict]:
    """What Chart.js drew: each canvas's series key, title and numbers (Chart.js 2 keeps its
    charts in Chart.instances)."""
    return page.evaluate(
        """() => Object.fromEntries(Object.values(Chart.instances).map((chart) => [
            chart.canvas.dataset.series || chart.canvas.dataset.overview,
            {
                title: chart.options.title.text,
                labels: chart.data.labels,
                data: chart.data.datasets[0].data,
            },
        ]))"""
    )


def page_data(page) -> dict:
    return page.evaluate("() => JSON.parse(document.getElementById('dashboard-data').textContent)")


def test_dashboard_charts_in_english_and_chinese(page, live_server, tenants, a_day_of_traffic):
    log_in_to_the_admin(page, live_server.url)
    dashboard = reverse("admin:dashboard_figurehour_miniprogram", args=[tenants.a.id])
    page.goto(f"{live_server.url}{dashboard}")
    page.wait_for_function(CHARTS_DRAWN)

    charts = charts_by_series(page)
    data = page_data(page)
    assert len(charts["plays"]["labels"]) == 24
    assert charts["plays"]["data"][-1] == 2, "this hour's plays"
    assert charts["plays"]["data"][-1 - EARLIER_HOURS_AGO] == EARLIER[figures.PLAYS]
    assert sum(charts["plays"]["data"]) == 2 + EARLIER[figures.PLAYS]
    assert sum(charts["logins_new"]["data"]) == 2 + EARLIER[figures.LOGIN_NEW]
    assert sum(charts["logins_returning"]["data"]) == 1 + EARLIER[figures.LOGIN_RETURNING]
    assert sum(charts["wechat_errors"]["data"]) == 1, "the injected 40029"
    assert sum(charts["wechat_calls"]["data"]) == 4
    assert max(charts["active_users"]["data"]) == 2
    for key, chart in charts.items():
        assert chart["data"] == data["series"][key], f"{key}: the chart draws the page's data"
    assert charts["plays"]["title"] == "Album plays"
    wechat_row = page.locator("#dashboard-wechat tbody tr").first
    assert LOGIN_PATH in wechat_row.inner_text() and "40029: 1" in wechat_row.inner_text()
    assert "Current state" in page.inner_text("#content")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "dashboard-en.png")

    # The page's own switch: Django's set_language, then back to the dashboard.
    page.select_option("#language-select", "zh-hans")
    page.click("#language-switch button[type=submit]")
    page.wait_for_function("() => document.documentElement.lang === 'zh-hans'")
    page.wait_for_function(CHARTS_DRAWN)
    assert page.url.endswith(dashboard)
    text = page.inner_text("#content")
    for label in ("当前状态", "最近 24 小时", "微信接口调用", "按状态统计的订阅消息"):
        assert label in text, label
    charts = charts_by_series(page)
    assert charts["plays"]["title"] == "专辑播放"
    assert charts["logins_new"]["title"] == "新用户登录"
    assert sum(charts["plays"]["data"]) == 2 + EARLIER[figures.PLAYS], "same numbers"
    assert "MiniHub 管理后台" in page.inner_text("#header")
    page.screenshot(path=SCREENSHOTS / "dashboard-zh-hans.png")
    assert page.outside_requests == [], "the dashboard loads nothing from outside"


def test_api_docs_render_with_the_outside_blocked(page, live_server):
    page.goto(f"{live_server.url}/api/v2/docs")
    operations = page.locator(".opblock-summary-path")
    operations.first.wait_for(timeout=15_000)
    paths = operations.all_inner_texts()
    assert len(paths) > 10, paths
    assert any(path.endswith("/auth/login") for path in paths), paths
    assert any("/albums" in path for path in paths), paths
    assert page.outside_requests == [], "the docs page asked for nothing outside MiniHub"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "api-docs.png")
