"""The status page in a real browser (Debian's Chromium) shows each department's standing as /api/status gives it."""

from __future__ import annotations

import datetime as dt

import pytest

from actionplan.register import Register
from tests.conftest import action, canonical_workbook
from tests.test_pages import CHROMIUM, CHROMIUM_ARGS
from tests.test_service import LiveServer

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)"
)
PERIOD = "2024/25 Q2"


def test_status_page_shows_on_time_late_returned_and_missing(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    home = tmp_path / "home"
    register = Register.for_home(home)
    for name in ("Finance", "Housing", "Children's Services"):
        register.add(name, [f"{name[:3].lower()}@council.gov.uk"])
    register.set_deadline(PERIOD, dt.date(2024, 10, 14))
    with LiveServer(home) as srv:
        keys = {
            "finance": srv.token("Finance")[1],
            "children": srv.token("Children's Services")[1],
            "admin": srv.token(admin=True)[1],
        }
        for dept, key in (("FINANCE", "finance"), ("Children's Services", "children")):
            book = canonical_workbook(tmp_path / f"{key}.xlsx", dept, actions=[action("X1")])
            r = srv.client.post(
                "/api/submissions",
                files={"file": (book.name, book.read_bytes())},
                headers={"Authorization": keys[key]},
            )
            assert r.json()["accepted"], r.text
        sid = r.json()["submission_id"]
        assert (
            srv.client.post(
                f"/api/admin/submissions/{sid}/return",
                json={"comment": "please add the KPIs"},
                headers={"Authorization": keys["admin"]},
            ).status_code
            == 200
        )
        api = srv.client.get(
            f"/api/status?period={PERIOD}", headers={"Authorization": keys["finance"]}
        ).json()

        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(srv.url + "/")
                page.get_by_label("Access key (from corporate performance)").fill(keys["finance"])
                page.get_by_role("button", name="Use this key").click()
                page.get_by_text("Signed in for Finance.").wait_for()
                page.locator("#status-table").wait_for()
                rows = page.locator("#status-table tbody tr")
                shown = {}
                for i in range(rows.count()):
                    cells = rows.nth(i).inner_text().split("\t")
                    shown[cells[0]] = (cells[1], cells[-1])
                summary = page.locator("#status p").first.inner_text()
            finally:
                browser.close()
    today = dt.date.today().strftime("%d/%m/%Y")
    assert shown == {
        "Children's Services": ("Returned", f"returned {today}: please add the KPIs"),
        "Finance": (
            "Late",
            f"submitted {today}, {(dt.date.today() - dt.date(2024, 10, 14)).days} days after the "
            "deadline 14/10/2024",
        ),
        "Housing": ("Missing", "deadline 14/10/2024"),
    }
    labels = {"late": "Late", "returned": "Returned", "missing": "Missing"}
    assert {d["department"]: (labels[d["standing"]], d["note"]) for d in api["departments"]} == shown
    assert summary == (
        "1 department with no accepted return for 2024/25 Q2: Housing. Returned to Children's "
        "Services. Deadline: 14 Oct 2024."
    )
