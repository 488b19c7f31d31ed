"""Render an HTML report to a PNG with headless Chromium: `python -m eval.screenshot report.html out.png`.

Used to check that report.html renders (plots and per-question table) without a browser session.
Runs Chromium with a throw-away profile and no network-facing background services. Does not
install Chromium: it looks for `chromium`, `chromium-browser` or `google-chrome` on PATH.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from service.errors import VraagbaakError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars")


def find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def screenshot(html: Path, png: Path, width: int = 1280, height: int = 2400, timeout: float = 120.0) -> Path:
    """Write a screenshot of `html` to `png`; raises VraagbaakError when it cannot."""
    browser = find_browser()
    if browser is None:
        raise VraagbaakError(f"geen Chromium gevonden (gezocht: {', '.join(BROWSERS)})")
    if not html.is_file():
        raise VraagbaakError(f"HTML-bestand niet gevonden: {html}")
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vraagbaak-chromium-") as profile:
        cmd = [browser, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png.resolve()}",
               f"--window-size={width},{height}", html.resolve().as_uri()]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if not png.is_file():
        raise VraagbaakError(f"Chromium maakte geen screenshot (exitcode {result.returncode}): "
                             f"{result.stderr.strip()[-200:]}")
    return png


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.screenshot", description=__doc__.splitlines()[0])
    ap.add_argument("html", type=Path)
    ap.add_argument("png", type=Path)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=2400)
    a = ap.parse_args(argv)
    try:
        print(screenshot(a.html, a.png, a.width, a.height))
    except VraagbaakError as e:
        print(f"vraagbaak: fout: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
