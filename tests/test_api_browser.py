"""The chat page in a real headless Chromium (Debian chromium + chromedriver, via selenium) against a
uvicorn server running the app with the fake service: ask, see the streamed answer with a citation,
open the citation's quote, ask a follow-up that carries the history, and see a kind Dutch error.

Slow tier; skipped with a reason when chromium or chromedriver is not installed
(`apt-get install -y chromium chromium-driver`). Set VRAAGBAAK_SCREENSHOT=<file.png> to keep a
screenshot of the conversation.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_api_fakes import FakeQA, fake_settings, running_server

from service.api.app import create_app

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)",
                allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

QUESTION = "Wanneer werd het C-130 detachement ingezet?"
FOLLOW_UP = "Wie voerde de eindevaluatie van MINUSMA uit?"
QUOTE = "Het C-130 detachement werd ingezet van november 2021 tot en met mei 2022."
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1000,1100"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    options = Options()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def ask(browser: webdriver.Chrome, question: str) -> None:
    box = browser.find_element(By.ID, "question")
    box.send_keys(question)
    box.send_keys(Keys.ENTER)


def test_ask_see_the_cited_answer_open_the_quote_and_follow_up(browser: webdriver.Chrome,
                                                               tmp_path: Path) -> None:
    fake = FakeQA(token_delay=0.02)
    app = create_app(lambda: fake, fake_settings())
    with running_server(app) as base:
        assert app.state.runtime.holder.wait(5)
        browser.get(base + "/")
        wait = WebDriverWait(browser, 15)
        wait.until(EC.visibility_of_element_located((By.ID, "documents")))
        ask(browser, QUESTION)
        first = ".log > li.assistant:nth-of-type(2)"  # user, assistant, user, assistant
        cite = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, f"{first} .text .cite")))
        assert "november 2021" in browser.find_element(By.CSS_SELECTOR, f"{first} .text").text
        cite.click()
        panel = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, f"{first} .source")))
        assert QUOTE in panel.text
        assert "Beleidsreactie C-130 (fragment)" in panel.text and "pagina 1" in panel.text
        assert cite.get_attribute("aria-expanded") == "true"

        ask(browser, FOLLOW_UP)
        second = ".log > li.assistant:nth-of-type(4)"
        wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, f"{second} .text .cite")))
        browser.save_screenshot(os.environ.get("VRAAGBAAK_SCREENSHOT") or str(tmp_path / "chat.png"))
    question, history, _mode, _k = [args for name, args in fake.calls if name == "ask"][-1]
    assert question == FOLLOW_UP
    assert [t.role for t in history] == ["user", "assistant"] and history[0].content == QUESTION


def test_errors_are_shown_kindly_in_dutch(browser: webdriver.Chrome) -> None:
    release = threading.Event()

    def still_loading() -> FakeQA:
        release.wait(30)
        return FakeQA()

    app = create_app(still_loading, fake_settings())
    with running_server(app) as base:
        browser.get(base + "/")
        ask(browser, QUESTION)
        error = WebDriverWait(browser, 10).until(
            EC.visibility_of_element_located((By.CSS_SELECTOR, ".log > li.assistant.error .status")))
        assert "nog aan het opstarten" in error.text
        release.set()
