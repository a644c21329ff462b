"""The reports as a reader sees them: the HTML in headless Chromium, the PDF through poppler's pdftoppm and pdffonts.

Chromium loads a copy of each page with a probe script added at its end; once the fonts are ready the probe writes
what it found into the page, which ``--dump-dom`` prints. Where Chromium or poppler is missing the tests skip and say
so; CI installs both (Debian packages ``chromium``, ``poppler-utils``) and sets PADDLE_REG_REQUIRE_BROWSER=1, so
there they cannot skip.
"""
from __future__ import annotations

import html
import io
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image
from report_fixtures import HOSTILE, write_fixture_reports

from paddle_reg.report.fonts import FAMILY

REQUIRED = os.environ.get("PADDLE_REG_REQUIRE_BROWSER") == "1"
CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)),
                None)
POPPLER = shutil.which("pdftoppm") and shutil.which("pdffonts")
WIDTH = 1024  # a laptop window: no element may reach past it
PROBE = """<script>
window.alert = () => { window.alerted = true; };
document.fonts.ready.then(() => {
  const width = document.documentElement.clientWidth;
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify({
    width: width,
    scrollWidth: document.documentElement.scrollWidth,
    overflowing: [...document.body.querySelectorAll("*")].filter(e => e.getBoundingClientRect().right > width + 0.5)
      .map(e => e.tagName + (e.className ? "." + e.className : "")),
    images: [...document.images].map(i => ({alt: i.alt, decoded: i.complete && i.naturalWidth > 0})),
    faces: [...document.fonts].map(f => [f.family.replace(/"/g, ""), f.status]),
    cjkText: document.body.innerText.includes("短路"),
    hostileShown: document.body.innerText.includes(HOSTILE),
    scripts: document.scripts.length,
    alerted: window.alerted === true,
  });
  document.body.appendChild(out);
});
</script>"""


def _require(tool_found, what: str):
    if tool_found:
        return
    if REQUIRED:
        pytest.fail(f"PADDLE_REG_REQUIRE_BROWSER=1 but {what} is not installed (apt-get install chromium poppler-utils)")
    pytest.skip(f"{what} is not installed: the reports are checked in a browser where it is (CI installs it)")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    return write_fixture_reports(tmp_path_factory.mktemp("browser"))


def probe(page, tmp_path) -> dict:
    """Load a copy of ``page`` with PROBE appended in headless Chromium; what the probe found."""
    text = page.read_text(encoding="utf-8")
    probed = page.with_name(f"probed-{page.name}")
    literal = json.dumps(HOSTILE).replace("<", "\\u003c")  # no "</script>" inside the probe's own script
    probed.write_text(text.replace("</body>", PROBE.replace("HOSTILE", literal) + "</body>"), encoding="utf-8")
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'chromium-profile'}", f"--window-size={WIDTH},800",
         "--virtual-time-budget=10000", "--dump-dom", probed.as_uri()],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    start = result.stdout.index('<pre id="probe">') + len('<pre id="probe">')
    return json.loads(html.unescape(result.stdout[start:result.stdout.index("</pre>", start)]))


@pytest.mark.parametrize("page", ["mnist/report.html", "index.html"])
def test_html_in_chromium(reports, page, tmp_path):
    _require(CHROMIUM, "Chromium")
    found = probe(reports / page, tmp_path)
    assert found["images"] and all(i["decoded"] for i in found["images"]), found["images"]
    assert found["scrollWidth"] <= found["width"] and not found["overflowing"], found["overflowing"][:10]
    assert found["hostileShown"] and not found["alerted"]  # shown as text, never run
    assert found["scripts"] == 1  # the probe's own: the report carries none
    if page.startswith("mnist"):  # the per-class table's Chinese labels, drawn with the embedded subset
        assert found["cjkText"] and [FAMILY, "loaded"] in found["faces"], found["faces"]


@pytest.mark.parametrize("pdf", ["mnist/report.pdf", "index.pdf"])
def test_pdf_pages_render_and_embed_the_cjk_font(reports, pdf, tmp_path):
    _require(POPPLER, "poppler-utils (pdftoppm, pdffonts)")
    subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "1", "-png", str(reports / pdf), str(tmp_path / "page")],
                   check=True, timeout=120)
    (png,) = tmp_path.glob("page*.png")
    image = np.asarray(Image.open(io.BytesIO(png.read_bytes())).convert("L"), float)
    assert image.shape[0] > image.shape[1] > 200 and image.std() > 10  # an A4 page with something on it
    fonts = subprocess.run(["pdffonts", str(reports / pdf)], capture_output=True, text=True, check=True).stdout
    if pdf.startswith("mnist"):
        cjk = [line for line in fonts.splitlines() if "Noto" in line or FAMILY.replace(" ", "") in line]
        assert cjk and all(" yes " in line for line in cjk), fonts  # embedded (a subset)
