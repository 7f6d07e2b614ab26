"""Benchmark the web app against stylize on the same photo, model and options (prints numbers; not a test).

    python tools/benchmark_app.py                          # a 1024x1024 photo, starry_night, 5 rounds
    python tools/benchmark_app.py --ckpt candy --size 2048 --rounds 3 --no-browser

Each round times, one after the other so that both meet the same load on the machine:
  - stylize: the library call that fst-stylize makes once it has started (model loaded, photo decoded, stylized,
    PNG written), in this process;
  - the app through its API (gradio_client): upload, queue, stylize, PNG, download;
  - the app in headless Chromium (where chromium and chromedriver are installed): from the click on "Stylize
    photo" until the result is drawn in the page.
It also times one run of the fst-stylize command, whose process start (Python, torch) is extra. The photo is
../shared's skimage_astronaut.jpg scaled up (or a synthetic one without it).
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from fst.app.server import running
from fst.config import compose
from fst.inference.files import stylize

REPO = Path(__file__).resolve().parents[1]
PHOTO = REPO.parent / "shared" / "data" / "content" / "eval" / "skimage_astronaut.jpg"


def make_photo(path: Path, size: int) -> Path:
    if PHOTO.is_file():
        Image.open(PHOTO).convert("RGB").resize((size, size), Image.BICUBIC).save(path, quality=95)
    else:
        yy, xx = np.mgrid[0:size, 0:size] / size
        noise = np.random.default_rng(0).uniform(0, 40, (size, size, 3))
        Image.fromarray((np.stack([xx, yy, (xx + yy) / 2], -1) * 200 + noise).astype(np.uint8)).save(path, quality=95)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Browser:
    """Headless Chromium on the app's page: upload the photo once, then click and wait for the result."""

    def __init__(self, url: str, photo: Path, ckpt: str):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        options = webdriver.ChromeOptions()
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
            options.add_argument(argument)
        self.driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        self.by, self.wait = By, WebDriverWait(self.driver, 600)
        self.driver.get(url)
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, f"#styles img[alt={ckpt}]"))
        self.driver.find_element(By.CSS_SELECTOR, f"#styles img[alt={ckpt}]").click()
        self.wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#model input").get_attribute("value") == ckpt)
        self.driver.find_element(By.CSS_SELECTOR, "#photo input[type=file]").send_keys(str(photo))
        self.wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#photo img"))
        self.shown = None

    def click_to_result(self) -> float:
        script = "const i = document.querySelector('#photo-result img'); return i && i.complete && i.naturalWidth ? i.src : null"
        start = time.perf_counter()
        self.driver.find_element(self.by.CSS_SELECTOR, "#stylize-photo").click()
        self.shown = self.wait.until(lambda d: (src := d.execute_script(script)) and src != self.shown and src)
        return time.perf_counter() - start

    def close(self):
        self.driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", default="starry_night", help="a shipped model's name")
    parser.add_argument("--size", type=int, default=1024, help="the photo's side, in pixels")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--no-browser", action="store_true", help="skip the headless-Chromium timing")
    args = parser.parse_args()

    from gradio_client import Client, handle_file

    work = Path(tempfile.mkdtemp(prefix="fst-benchmark-app-"))
    try:
        photo = make_photo(work / "photo.jpg", args.size)
        options = [f"device={args.device}"]
        app_cfg = compose("app", [*options, f"port={free_port()}", f"max_upload_mb={max(200, args.size**2 * 4 / 2**20)}"])
        browser_wanted = not args.no_browser and shutil.which("chromedriver") and shutil.which("chromium")
        with running(app_cfg) as (_, url, _):
            client = Client(url, analytics_enabled=False, verbose=False, download_files=str(work / "downloads"))
            browser = Browser(url, photo, args.ckpt) if browser_wanted else None

            def library(index: int) -> float:
                cfg = compose("stylize", [f"ckpt={args.ckpt}", f"input={photo}", f"output={work / f'{index}.png'}", *options])
                start = time.perf_counter()
                stylize(cfg)
                return time.perf_counter() - start

            def api() -> float:
                start = time.perf_counter()
                client.predict(photo=handle_file(str(photo)), model=args.ckpt, mix="", strength=app_cfg.strength,
                               preserve_color=app_cfg.preserve_color, size="original", format="PNG", api_name="/stylize_photo")
                return time.perf_counter() - start

            timings = {"stylize": [], "api": [], "browser": []}
            for index in range(args.rounds + 1):  # round 0 warms up every path
                measured = {"stylize": library(index), "api": api()}
                if browser:
                    measured["browser"] = browser.click_to_result()
                for name, seconds in measured.items():
                    if index:
                        timings[name].append(seconds)
                print(f"round {index}{' (warm-up)' if not index else ''}: " + ", ".join(f"{k} {v:.2f} s" for k, v in measured.items()), flush=True)
            if browser:
                browser.close()
        start = time.perf_counter()
        subprocess.run([sys.executable, str(REPO / "scripts" / "stylize.py"), f"ckpt={args.ckpt}", f"input={photo}",
                        f"output={work / 'command.png'}", *options], check=True, capture_output=True)
        command = time.perf_counter() - start
    finally:
        shutil.rmtree(work, ignore_errors=True)

    base = statistics.median(timings["stylize"])
    print(f"\n{args.size}x{args.size} photo, {args.ckpt}, device={args.device}, median of {args.rounds} rounds:")
    print(f"  stylize (the library call of fst-stylize)        {base:6.2f} s")
    print(f"  app, API call (upload -> result downloaded)      {statistics.median(timings['api']):6.2f} s  "
          f"{statistics.median(timings['api']) / base:.2f}x stylize")
    if timings["browser"]:
        print(f"  app, browser click -> result drawn              {statistics.median(timings['browser']):6.2f} s  "
              f"{statistics.median(timings['browser']) / base:.2f}x stylize")
    print(f"  fst-stylize command, one run (with its start-up) {command:6.2f} s")


if __name__ == "__main__":
    main()
