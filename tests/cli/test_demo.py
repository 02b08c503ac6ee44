"""dcgan-demo: the page's pictures (class, walk, truncation), its errors, and the page itself
driven in headless Chromium, judged by the run's classifier."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan_lab.cli import demo
from dcgan_lab.demo.app import SCALE, DemoPage
from dcgan_lab.errors import UserError
from dcgan_lab.training.loading import load_module
from tests.cli.test_errors import run_main, the_one_error_line
from tests.conftest import free_port, keras_module, offline_env

TILE, PAD = 28, 2  # the grid's 28-pixel digits, 2 pixels apart (images.make_grid)


def tiles(grid: np.ndarray, columns: int, rows: int) -> torch.Tensor:
    """(rows * columns, 1, 28, 28) digits in [-1, 1] cut from the page's grid (H, W[, C])
    uint8, enlarged SCALE times."""
    gray = (grid if grid.ndim == 2 else grid[..., 0])[::SCALE, ::SCALE]
    cut = [gray[PAD + r * (TILE + PAD) :][:TILE, PAD + c * (TILE + PAD) :][:, :TILE]
           for r in range(rows) for c in range(columns)]  # fmt: skip
    return torch.from_numpy(np.stack(cut)).float().div(127.5).sub(1)[:, None]


def share_read_as(classifier, grid: np.ndarray, digit: int) -> float:
    """The share of a 4 x 4 grid's digits the run's classifier reads as ``digit``."""
    with torch.no_grad():
        read = classifier.eval()(tiles(grid, 4, 4)).argmax(1)
    return float((read == digit).float().mean())


@pytest.fixture
def page(conditional_digits: Path, tmp_path: Path) -> DemoPage:
    return DemoPage(load_module(conditional_digits).eval(), tmp_path / "saved")


def test_class_7_draws_sevens_and_the_walk_and_truncation_change_the_grid(
    page: DemoPage, mnist5k
) -> None:
    sevens = page.draw(0, 1, 0.0, "7", 0)
    assert share_read_as(mnist5k[1], sevens, 7) >= 0.9
    assert not np.array_equal(page.draw(0, 1, 0.5, "7", 0), sevens)
    assert np.array_equal(page.draw(0, 1, 1.0, "7", 0), page.draw(1, 5, 0.0, "7", 0))
    assert not np.array_equal(page.draw(0, 1, 0.0, "7", 0.3), sevens)
    every_class = page.draw(0, 1, 0.0, "all", 0)  # a row runs through the 10 classes
    assert every_class.shape[1] == (10 * (TILE + PAD) + PAD) * SCALE


def test_save_writes_the_grid_shown(page: DemoPage) -> None:
    line = page.save(3, 4, 0.25, "2", 0.7)
    path = Path(line.removeprefix("saved "))
    assert np.array_equal(np.asarray(Image.open(path)), page.draw(3, 4, 0.25, "2", 0.7))


BAD_FIELDS = [
    ((-1, 1, 0.0, "7", 0), "seed=-1: choose a whole number"),
    ((1.5, 1, 0.0, "7", 0), "seed=1.5: choose a whole number"),
    ((None, 1, 0.0, "7", 0), "seed is empty: choose a whole number"),
    ((0, 2**63, 0.0, "7", 0), "second seed=9223372036854775808: choose"),
    ((0, 1, 1.5, "7", 0), "walk=1.5: choose a fraction"),
    ((0, 1, -0.1, "7", 0), "walk=-0.1: choose a fraction"),
    ((0, 1, 0.0, "12", 0), "class=12: choose all or a class from 0 to 9"),
    ((0, 1, 0.0, "seven", 0), "class='seven': choose all or a class"),
    ((0, 1, 0.0, "7", -0.5), "truncation=-0.5"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_FIELDS)
def test_bad_fields_are_one_line_messages(page: DemoPage, fields: tuple, message: str) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        page.draw(*fields)


def test_a_class_on_an_unconditional_model_is_refused(tmp_path: Path) -> None:
    page = DemoPage(keras_module(width=4, latent_dim=8).eval(), tmp_path)
    with pytest.raises(UserError, match="class='3': this model is not conditional"):
        page.draw(0, 1, 0.0, "3", 0)
    assert page.draw(0, 1, 0.0, "all", 0).shape == ((4 * 30 + 2) * SCALE,) * 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["port=0"], "port=0: choose a TCP port from 1 to 65535"),
        (["port=http"], "port='http': choose a TCP port"),
        (["n=0"], "n=0: the grid holds 1 to 256 images"),
        ([], "ckpt_path is required"),
        (["ckpt_path=nope.ckpt"], "nope.ckpt"),
    ],
)
def test_bad_demo_arguments_give_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HYDRA_FULL_ERROR", "0")
    code = run_main(demo, args, monkeypatch)
    the_one_error_line(code, capsys, "dcgan-demo", message)


@pytest.fixture
def served(conditional_digits: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``dcgan-demo`` as a user starts it, on a free loopback port; (url, its save folder)."""
    port, out = free_port(), tmp_path / "saved"
    command = [sys.executable, "-m", "dcgan_lab.cli.demo", f"ckpt_path={conditional_digits}",
               f"port={port}", f"out_dir={out}"]  # fmt: skip
    server = subprocess.Popen(
        command, cwd=tmp_path, env=offline_env(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and server.poll() is None:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                time.sleep(0.5)
        assert server.poll() is None, server.stdout.read() if server.stdout else ""
        yield url, out
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1280,900"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    try:
        yield driver
    finally:
        driver.quit()


def shown_grid(driver, previous: str | None = None, timeout: float = 30) -> tuple[str, np.ndarray]:
    """(src, pixels) of the page's grid once its src differs from ``previous``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def src_changed(d) -> str | bool:
        found = d.find_elements(By.CSS_SELECTOR, "#grid img")
        src = found[0].get_attribute("src") if found else None
        return src if src and src != previous else False

    src = str(WebDriverWait(driver, timeout).until(src_changed))
    if src.startswith("data:"):
        data = base64.b64decode(src.split(",", 1)[1])
    else:
        with urllib.request.urlopen(src, timeout=10) as response:
            data = response.read()
    return src, np.asarray(Image.open(io.BytesIO(data)))


def type_into(driver, css: str, text: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    field = driver.find_element(By.CSS_SELECTOR, css)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text, Keys.ENTER)


def test_the_page_in_chromium_draws_sevens_walks_saves_and_shows_errors(
    served, browser, mnist5k
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, out = served
    browser.get(url)
    src, _ = shown_grid(browser)
    browser.find_element(By.CSS_SELECTOR, "#label input[value='7']").click()
    src, sevens = shown_grid(browser, src)
    assert share_read_as(mnist5k[1], sevens, 7) >= 0.9
    type_into(browser, "#walk input[type='number']", "0.5")
    src, walked = shown_grid(browser, src)
    assert not np.array_equal(walked, sevens)
    browser.find_element(By.CSS_SELECTOR, "#save").click()
    saved = WebDriverWait(browser, 30).until(
        lambda d: (
            d.find_element(By.CSS_SELECTOR, "#saved").text.startswith("saved ")
            and d.find_element(By.CSS_SELECTOR, "#saved").text
        )
    )
    assert Path(saved.removeprefix("saved ")).parent == out and any(out.glob("grid_*.png"))
    type_into(browser, "#seed input", "-1")

    def error_shown(d) -> str | bool:
        toasts = d.find_elements(By.CSS_SELECTOR, ".toast-message-text")
        return next((e.text for e in toasts if "seed=-1" in e.text), False)

    message = str(WebDriverWait(browser, 30).until(error_shown))
    assert "choose a whole number" in message
    assert "Traceback" not in browser.page_source
