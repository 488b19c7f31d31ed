"""Slow tier: report.html renders in headless Chromium with its plots and the per-question table.

Builds a report with the scripted fake service of test_eval_harness, screenshots it with
eval.screenshot and checks the PNG: plausible size, not blank, and with the plots' colours.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.screenshot import find_browser, screenshot

pytestmark = pytest.mark.slow


@pytest.fixture
def report_html(tmp_path: Path) -> Path:
    from test_eval_harness import ITEMS, FakeService, run

    qa = tmp_path / "qa.jsonl"
    qa.write_text("\n".join(json.dumps(it, ensure_ascii=False) for it in ITEMS) + "\n", encoding="utf-8")
    assert run(qa, tmp_path / "out", FakeService(weak=True)) == 0
    return tmp_path / "out" / "report.html"


@pytest.mark.skipif(find_browser() is None, reason="Chromium niet gevonden (/usr/bin/chromium): "
                    "installeer met `apt-get install -y chromium` om report.html te renderen")
def test_report_renders_with_plots_and_table(report_html: Path, tmp_path: Path):
    from matplotlib.image import imread

    png = screenshot(report_html, tmp_path / "report.png", 1280, 2400)
    assert png.stat().st_size > 50_000  # a blank page of this size compresses to a few kB
    pixels = imread(png)[..., :3]
    assert pixels.shape[:2] == (2400, 1280)
    assert pixels.std() > 0.1  # not a blank page
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    saturated = ((abs(red - green) > 0.3) | (abs(green - blue) > 0.3)).mean()
    assert saturated > 0.01  # the heatmap and histograms are drawn (text alone is grey/black)
    lower = pixels[1600:]
    assert lower.std() > 0.1  # the page continues into the per-question table
