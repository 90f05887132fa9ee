"""The demo tenant's HTML report opened in headless Chromium (Debian's chromium package).

It renders (the screenshot is not blank), no script runs and no request leaves the file. Both
detectors are checked against a control page that does run a script and load an image (from a
dead loopback port), first without and then with the report's Content-Security-Policy.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest

from driftguard.cli import main
from driftguard.report.html_format import CSP

pytestmark = pytest.mark.chromium

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
BLINK_RESOURCE_LOADER = 101845102  # traffic annotation of requests a page makes
CONTROL = (
    "<!DOCTYPE html><html><head>{meta}<title>quiet</title></head><body>"
    '<img src="http://127.0.0.1:9/beacon.png" alt="">'
    "<script>document.title = 'script ran'</script><p>control</p></body></html>"
)


@pytest.fixture(scope="module")
def chromium() -> str:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium); CI installs it")
    return CHROMIUM


def _run(chromium: str, tmp: Path, page: Path, *extra: str) -> tuple[str, list[str]]:
    """Open ``page``; return the DOM after load and the URLs of requests the page made."""
    net_log = tmp / f"{page.stem}.netlog.json"
    argv = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp / 'profile'}",
        f"--log-net-log={net_log}",
        *extra,
        page.resolve().as_uri(),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, _page_requests(json.loads(net_log.read_text(encoding="utf-8")))


def _page_requests(log: dict[str, Any]) -> list[str]:
    """URLs requested on behalf of the page (Chromium's own update/sign-in traffic excluded)."""
    by_source: dict[int, list[dict[str, Any]]] = {}
    for event in log.get("events", []):
        by_source.setdefault(event["source"]["id"], []).append(event.get("params") or {})
    urls = []
    for params_list in by_source.values():
        from_page = any(
            p.get("traffic_annotation") == BLINK_RESOURCE_LOADER
            or str(p.get("network_isolation_key", "")).startswith("file://")
            for p in params_list
        )
        if from_page:
            urls += [p["url"] for p in params_list if isinstance(p.get("url"), str)]
    return sorted(set(urls))


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """A tiny PNG decoder (8-bit RGB/RGBA, non-interlaced): width, height, rows of pixels."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r[i : i + 3]) for r in rows for i in range(0, stride, bpp)]


def test_control_page_proves_the_detectors_work(chromium: str, tmp_path: Path) -> None:
    open_page = tmp_path / "open.html"
    open_page.write_text(CONTROL.format(meta=""), encoding="utf-8")
    dom, requests = _run(chromium, tmp_path, open_page, "--dump-dom")
    assert "<title>script ran</title>" in dom
    assert "http://127.0.0.1:9/beacon.png" in requests

    locked = tmp_path / "locked.html"
    meta = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
    locked.write_text(CONTROL.format(meta=meta), encoding="utf-8")
    dom, requests = _run(chromium, tmp_path, locked, "--dump-dom")
    assert "<title>quiet</title>" in dom  # the CSP stopped the script
    assert not [u for u in requests if not u.startswith(("file:", "data:"))]


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("html") / "demo-report.html"
    argv = [
        "diff",
        "--baseline",
        str(root / "baseline"),
        "--tenant",
        "demo",
        "--live",
        str(root / "src" / "driftguard" / "demo" / "live.json"),
        "--format",
        "html",
        "--output",
        str(out),
    ]
    assert main(argv) == 2
    return out


def test_demo_report_has_no_script_and_loads_nothing(
    chromium: str, demo_report: Path, tmp_path: Path
) -> None:
    html = demo_report.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in html
    dom, requests = _run(chromium, tmp_path, demo_report, "--dump-dom")
    assert "Hybrid relay" in dom and "<script" not in dom.lower()
    assert "Content-Security-Policy" in dom
    leaving = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert not leaving, leaving


def test_demo_report_renders_something_visible(
    chromium: str, demo_report: Path, tmp_path: Path
) -> None:
    shot = tmp_path / "shot.png"
    _run(chromium, tmp_path, demo_report, f"--screenshot={shot}", "--window-size=1024,900")
    width, height, pixels = _png_pixels(shot.read_bytes())
    assert (width, height) == (1024, 900)
    colours = set(pixels[::7])
    assert len(colours) > 50, len(colours)  # text, badges, borders: not a blank page
    white = sum(1 for p in pixels[::7] if p == b"\xff\xff\xff")
    assert white < 0.97 * len(pixels[::7])
    # the severity colours of the demo's critical findings are on screen (#9b1c1c)
    assert any(abs(p[0] - 0x9B) < 12 and p[1] < 60 and p[2] < 60 for p in pixels)


# Measures the rendered page from inside (in a copy without the CSP): an e-mail address in a table
# cell stays on one line, one in running text breaks at most after a hyphen, never inside a word;
# at phone width the findings table is stacked (each cell as wide as the page, not a column
# squeezed to a word). The result goes into the title, which --dump-dom shows.
MEASURE = """<script>
const broken = [];
const address = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+/g;
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const lineOf = (n, i) => {
  const r = document.createRange();
  r.setStart(n, i);
  r.setEnd(n, i + 1);
  return Math.round(r.getBoundingClientRect().top);
};
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const inCell = n.parentElement.closest("td") !== null;
  for (const m of n.data.matchAll(address)) {
    for (let i = m.index + 1; i < m.index + m[0].length; i++) {
      if (lineOf(n, i) !== lineOf(n, i - 1) && (inCell || n.data[i - 1] !== "-")) {
        broken.push(m[0] + " at " + (i - m.index));
        break;
      }
    }
  }
}
const cells = [...document.querySelectorAll("table.findings td")].map((td) => td.offsetWidth);
document.title = JSON.stringify({broken, narrowest: Math.min(...cells), seen: cells.length});
</script>"""


@pytest.mark.parametrize("width", [1400, 390])
def test_addresses_stay_whole_and_findings_fit_the_width(
    chromium: str, tmp_path: Path, width: int
) -> None:
    import re
    from dataclasses import replace

    from driftguard.model import Report
    from driftguard.report import render
    from report_samples import EVENT, sample_report

    long_actor = "helpdesk.temporary-admin@contoso-international.onmicrosoft.com"
    report = sample_report()
    tenant = report.tenants[0]
    events = (replace(EVENT, actor=long_actor),)
    findings = tuple(replace(f, events=events) if f.events else f for f in tenant.findings)
    report = Report(report.generated_at, (replace(tenant, findings=findings), *report.tenants[1:]))
    page = render(report, "html")
    assert long_actor in page
    probe = tmp_path / "probe.html"
    csp = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
    probe.write_text(page.replace(csp, "").replace("</body>", MEASURE + "</body>"), "utf-8")
    dom, _ = _run(chromium, tmp_path, probe, "--dump-dom", f"--window-size={width},2000")
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert title, dom[:500]
    measured = json.loads(title.group(1).replace("&quot;", '"'))
    assert measured["seen"] > 0
    assert measured["broken"] == [], measured
    # at 390 px each cell is a block the width of the page; at 1400 the columns are readable
    assert measured["narrowest"] >= (250 if width == 390 else 60), measured
