"""The web app in a real browser: ``scripts/app.py`` serving, headless Chromium driven by Selenium. A style picked in
the gallery, a photo uploaded and stylized, the result shown; a broken file's message in the page; the webcam's
stylized stream with its frame rate; and the app's temporary folder gone once it stops.

``FST_APP_SCREENSHOT=docs/app.png pytest tests/test_app_browser.py`` writes the README's screenshot."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from conftest import REPO, SHARED, random_image

CHROMIUM, CHROMEDRIVER = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver (.ci/run installs them)"),
]
PHOTO = SHARED / "data" / "content" / "eval" / "skimage_chelsea.jpg"  # CC0 (scikit-image's cat): fit for the README
PAINTINGS = SHARED / "data" / "styles"
WAIT = 120  # seconds; a busy 2-core machine is slow to start the app and to stylize


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``python scripts/app.py`` on a free port, as a user starts it; stopped with SIGTERM at the end."""
    work = tmp_path_factory.mktemp("app")
    paintings = PAINTINGS if PAINTINGS.is_dir() else work  # real paintings make the screenshot; else samples
    log = work / "app.log"
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, str(REPO / "scripts" / "app.py"), f"port={free_port()}", "device=cpu",
                                    f"paintings={paintings}", "max_upload_mb=1"], stdout=output, stderr=subprocess.STDOUT, cwd=work)
    try:
        deadline = time.monotonic() + WAIT
        while not (found := re.search(r"serving on (\S+) \(temporary files in (\S+)\)", log.read_text())):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        url, folder = found.group(1), Path(found.group(2))
        yield url, folder
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    assert code == 0 and "Traceback" not in log.read_text(), log.read_text()[-3000:]
    assert not folder.exists()  # uploads, results and thumbnails are gone with the app


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                     "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"):  # a test-pattern webcam
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def open_page(browser, url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, WAIT).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#styles button.thumbnail-item img"))
    return WebDriverWait(browser, WAIT)


def upload(browser, box: str, path: Path):
    from selenium.webdriver.common.by import By

    browser.find_element(By.CSS_SELECTOR, f"#{box} input[type=file]").send_keys(str(path))


def button(browser, box: str, text: str):
    """The button of ``#box`` that shows ``text``, once there is one."""
    from selenium.webdriver.common.by import By

    return next((b for b in browser.find_elements(By.CSS_SELECTOR, f"#{box} button") if b.text.strip() == text), None)


def test_pick_a_style_upload_a_photo_and_see_it_stylized(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    url, _ = server
    photo = PHOTO
    if not photo.is_file():  # without ../shared: a synthetic photo
        photo = tmp_path / "photo.jpg"
        random_image((320, 240), seed=1).save(photo)
    wait = open_page(browser, url)
    browser.find_element(By.CSS_SELECTOR, "#styles img[alt=starry_night]").click()
    wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "#model input").get_attribute("value") == "starry_night")
    upload(browser, "photo", photo)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#photo img"))
    browser.find_element(By.CSS_SELECTOR, "#stylize-photo").click()
    shown = "const i = document.querySelector('#photo-result img'); return i && i.complete && i.naturalWidth ? i.src : null"
    source = wait.until(lambda b: b.execute_script(shown))
    assert source.endswith(f"/{photo.stem}_starry_night.png")
    result = Image.open(io.BytesIO(httpx.get(source).content)).convert("RGB")
    original = Image.open(photo).convert("RGB")
    assert result.size == original.size  # full resolution
    assert np.abs(np.asarray(result, np.float32) - np.asarray(original, np.float32)).mean() > 10
    browser.execute_script("window.scrollTo(0, 0)")
    screenshot = Path(os.environ.get("FST_APP_SCREENSHOT") or tmp_path / "app.png")
    browser.save_screenshot(str(screenshot))
    assert Image.open(screenshot).size[0] >= 1000


def test_a_broken_photo_gets_its_message_in_the_page(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    wait = open_page(browser, server[0])
    upload(browser, "photo", broken)
    browser.find_element(By.CSS_SELECTOR, "#stylize-photo").click()
    toasts = "return [...document.querySelectorAll('[data-testid=toast-body]')].map(e => e.innerText).join(' ')"
    message = wait.until(lambda b: b.execute_script(toasts))
    assert "cannot read image broken.png: cannot identify image file" in message and "Traceback" not in message


def test_an_upload_over_the_limit_is_refused_in_the_page_with_the_limit(server, browser, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(os.urandom(1_200_000))  # over max_upload_mb=1
    wait = open_page(browser, server[0])
    upload(browser, "photo", big)
    toasts = "return [...document.querySelectorAll('[data-testid=toast-body]')].map(e => e.innerText).join(' ')"
    assert 'exceed the maximum allowed size of 1.0 Mb: "big.png"' in wait.until(lambda b: b.execute_script(toasts))


def test_the_webcam_streams_stylized_frames_with_its_frame_rate(server, browser):
    from selenium.webdriver.common.by import By

    wait = open_page(browser, server[0])
    next(tab for tab in browser.find_elements(By.CSS_SELECTOR, "button[role=tab]") if tab.text == "Webcam").click()
    for label in ("Click to Access Webcam", "Record"):
        wait.until(lambda b, label=label: button(b, "camera", label)).click()
    rate = "return document.querySelector('#rate textarea, #rate input').value"
    text = wait.until(lambda b: re.fullmatch(r"([1-9]\d*\.\d|0\.[1-9]) frames/s at 320x240 \((\S+)\)", b.execute_script(rate) or ""))
    assert float(text.group(1)) > 0 and text.group(2)  # the model that paints the stream
    frame = "const i = document.querySelector('#live img'); return i && i.complete && i.naturalWidth && [i.naturalWidth, i.naturalHeight]"
    assert wait.until(lambda b: b.execute_script(frame)) == [320, 240]  # the fake camera's 640x480, at webcam_size
