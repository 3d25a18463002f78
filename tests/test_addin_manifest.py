"""The Office add-in: its manifest names the service's real URLs, and every file it names is served."""

from __future__ import annotations

import re
import struct
import subprocess
import uuid

import pytest
from defusedxml import ElementTree

from actionplan.excel_addin.pages import HERE
from tests.conftest import action, canonical_workbook
from tests.test_service import LiveServer, actions_of, post_json, xlwings_payload

NS = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "ov": "http://schemas.microsoft.com/office/taskpaneappversionoverrides",
    "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
PUBLIC = "https://actionplan.council.example/service"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with LiveServer(tmp_path_factory.mktemp("manifest") / "home", public_url=PUBLIC) as server:
        yield server


@pytest.fixture(scope="module")
def manifest(served):
    r = served.client.get("/manifest.xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    return ElementTree.fromstring(r.content)


def _strings(root) -> dict[str, str]:
    return {s.get("id"): s.get("DefaultValue") for s in root.iterfind(".//bt:String", NS)}


def test_manifest_is_a_task_pane_add_in_with_the_services_urls(manifest):
    assert manifest.tag == f"{{{NS['o']}}}OfficeApp"
    assert manifest.get(f"{{{NS['xsi']}}}type") == "TaskPaneApp"
    uuid.UUID(manifest.findtext("o:Id", namespaces=NS))
    assert (
        manifest.find("o:DefaultSettings/o:SourceLocation", NS).get("DefaultValue")
        == f"{PUBLIC}/static/taskpane.html"
    )
    # Microsoft's rules: an AppDomain is an origin, never a path.
    assert (
        manifest.findtext("o:AppDomains/o:AppDomain", namespaces=NS) == "https://actionplan.council.example"
    )
    urls = [
        e.get("DefaultValue") for e in manifest.iter() if (e.get("DefaultValue") or "").startswith("http")
    ]
    assert len(urls) > 15 and all(u.startswith(PUBLIC + "/") for u in urls), urls


def test_manifest_ribbon_tab_has_check_submit_and_rollup_buttons(manifest):
    strings = _strings(manifest)
    tab = manifest.find(".//ov:CustomTab", NS)
    assert strings[tab.find("ov:Label", NS).get("resid")] == "actionplan"
    buttons = {strings[c.find("ov:Label", NS).get("resid")]: c for c in tab.iterfind(".//ov:Control", NS)}
    assert list(buttons) == ["Check", "Submit", "Get council rollup", "Access key and status"]
    functions = {
        label: c.findtext("ov:Action/ov:FunctionName", namespaces=NS) for label, c in buttons.items()
    }
    assert functions == {
        "Check": "checkPlan",
        "Submit": "submitPlan",
        "Get council rollup": "getRollup",
        "Access key and status": None,
    }
    pane = buttons["Access key and status"].find("ov:Action", NS)
    assert pane.get(f"{{{NS['xsi']}}}type") == "ShowTaskpane"
    commands = (HERE / "static" / "commands.js").read_text()
    for name in filter(None, functions.values()):
        assert f"global.{name} = command(" in commands and f'associate("{name}"' in commands


def test_every_file_the_manifest_names_is_served(served, manifest):
    urls = {
        e.get("DefaultValue") for e in manifest.iter() if (e.get("DefaultValue") or "").startswith(PUBLIC)
    }
    urls |= {PUBLIC + "/"}
    for url in sorted(urls):
        r = served.client.get(url.removeprefix(PUBLIC))
        assert r.status_code == 200, url
        if url.endswith(".png"):
            size = int(re.search(r"-(\d+)\.png$", url).group(1))
            assert r.content[:8] == b"\x89PNG\r\n\x1a\n"
            assert struct.unpack(">II", r.content[16:24]) == (size, size)
        elif url.endswith(".html"):
            assert r.headers["content-type"].startswith("text/html")


def test_manifest_defaults_to_the_host_and_port_settings(tmp_path):
    with LiveServer(tmp_path / "home") as server:
        root = ElementTree.fromstring(server.client.get("/manifest.xml").content)
        assert (
            root.find("o:DefaultSettings/o:SourceLocation", NS).get("DefaultValue")
            == f"http://127.0.0.1:{server.port}/static/taskpane.html"
        )


def test_the_add_in_client_applies_every_action_the_service_sends(served, tmp_path):
    """client.js has a case for each action the service answers with (check, submit and rollup)."""
    key = served.token("Finance")[1]
    bad = canonical_workbook(
        tmp_path / "bad.xlsx", actions=[action(due="31/11/24", status="Greenish"), action("F2", lead=None)]
    )
    funcs = set()
    for path in ("/xlwings/check", "/xlwings/submit", "/xlwings/rollup"):
        funcs |= {a["func"] for a in actions_of(post_json(served, path, xlwings_payload(bad), key))}
    assert {"addSheet", "setValues", "setRangeColor", "alert"} <= funcs
    client = (HERE / "static" / "client.js").read_text()
    handled = set(re.findall(r'case "(\w+)":', client))
    assert funcs <= handled, funcs - handled


def test_static_pages_load_no_external_assets_but_office_js():
    for page in ("index.html", "taskpane.html", "commands.html", "alert.html"):
        html = (HERE / "static" / page).read_text()
        external = set(re.findall(r'(?:src|href)="(https?://[^"]+)"', html))
        assert external <= {"https://appsforoffice.microsoft.com/lib/1/hosted/office.js"}, (page, external)
    assert "appsforoffice" not in (HERE / "static" / "index.html").read_text()


SCHEMA = HERE / "schemas" / "OfficeAppManifestV1_1.xsd"


def _xmllint(path) -> subprocess.CompletedProcess:
    import os
    import shutil

    if shutil.which("xmllint") is None:
        if os.environ.get("CI"):
            pytest.fail("xmllint is not installed: .ci/run installs libxml2-utils; run it as root")
        pytest.skip("xmllint is not installed (apt-get install libxml2-utils)")
    return subprocess.run(
        ["xmllint", "--noout", "--schema", str(SCHEMA), str(path)], capture_output=True, text=True
    )


def test_manifest_validates_against_microsofts_schema(served, tmp_path):
    path = tmp_path / "manifest.xml"
    path.write_bytes(served.client.get("/manifest.xml").content)
    done = _xmllint(path)
    assert done.returncode == 0 and done.stderr.strip() == f"{path} validates", done.stderr


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (
            ("<Version>1.0.0.0</Version>", "<Version>one</Version>"),
            "Element '{http://schemas.microsoft.com/office/"
            "appforoffice/1.1}Version': [facet 'pattern'] The value 'one' is not accepted by the pattern",
        ),
        (
            ("<ProviderName>actionplan</ProviderName>", ""),
            "This element is not expected. Expected is ( "
            "{http://schemas.microsoft.com/office/appforoffice/1.1}ProviderName ).",
        ),
    ],
)
def test_manifest_schema_rejects_a_broken_manifest(served, tmp_path, change, complaint):
    path = tmp_path / "broken.xml"
    path.write_text(served.client.get("/manifest.xml").text.replace(*change))
    done = _xmllint(path)
    assert done.returncode != 0 and complaint in done.stderr, done.stderr


def test_static_files_are_revalidated_so_an_upgrade_reaches_office(served):
    for path in ("/static/client.js", "/static/commands.html", "/static/taskpane.html", "/manifest.xml"):
        assert served.client.get(path).headers["cache-control"] == "no-cache", path


def test_serve_port_option_is_the_manifests_port(tmp_path):
    import os
    import sys

    from tests.test_service import _free_port

    port = _free_port()
    env = {**os.environ, "ACTIONPLAN_HOME": str(tmp_path / "home")}
    env.pop("ACTIONPLAN_PUBLIC_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "actionplan.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stderr.readline()
        assert line.strip() == (
            f"actionplan service on http://127.0.0.1:{port} (add-in manifest: "
            f"http://127.0.0.1:{port}/manifest.xml)"
        )
        import httpx

        for _ in range(600):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/manifest.xml", timeout=5)
                break
            except httpx.TransportError:
                import time

                time.sleep(0.2)
        root = ElementTree.fromstring(r.content)
        assert (
            root.find("o:DefaultSettings/o:SourceLocation", NS).get("DefaultValue")
            == f"http://127.0.0.1:{port}/static/taskpane.html"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
