"""The web page (``allinone serve``): its actions without a browser, then end to end in headless Chromium.

The browser test needs Debian's ``chromium`` and ``chromium-driver`` (``make test`` installs them when
missing and it can); without them it is skipped with the reason. ``make test-web`` runs this file.
Set ``ALLINONE_WEB_SCREENSHOT=docs/web-page.png`` to copy the test's screenshot there.
"""
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

gr = pytest.importorskip("gradio", reason="the web page needs the web extra: pip install 'allinone[web]'")

from allinone import web  # noqa: E402
from allinone.data.synthetic import SynthConfig, generate_synthvl  # noqa: E402
from allinone.track.video import VideoWriter, open_source  # noqa: E402

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def _write_video(path, frames, fps=10.0):
    writer = VideoWriter(path, fps=fps)
    for f in frames:
        writer.write(f)
    writer.close()
    return path


def _moving_square(n=12, size=(96, 128)):
    frames = []
    for i in range(n):
        f = np.full((*size, 3), 40, np.uint8)
        f[30:60, 10 + 4 * i:40 + 4 * i] = (220, 30, 30)
        frames.append(f)
    return frames


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return web.WebApp(workdir=tmp_path_factory.mktemp("web"), max_frames=100)


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory):
    return _write_video(tmp_path_factory.mktemp("clip") / "clip.mp4", _moving_square())


def test_probe_clip_reads_length_rate_and_first_frame(clip_path):
    clip = web.probe_clip(clip_path, max_frames=40)
    assert clip.frames == 12 and clip.fps == pytest.approx(10.0) and clip.name == "clip.mp4"
    first = next(open_source(clip_path))
    np.testing.assert_array_equal(clip.first_frame, first)


def test_probe_clip_rejects_what_is_not_a_video(tmp_path, clip_path):
    (tmp_path / "notes.txt").write_text("not a video\n")
    with pytest.raises(ValueError, match="'notes.txt' is not a video that can be read"):
        web.probe_clip(tmp_path / "notes.txt")
    one = _write_video(tmp_path / "one.mp4", _moving_square(1))
    with pytest.raises(ValueError, match=r"1 frame\(s\)"):
        web.probe_clip(one)
    with pytest.raises(ValueError, match="more than 11 frames, the page's limit"):
        web.probe_clip(clip_path, max_frames=11)


def test_parse_box_and_corners():
    assert web.parse_box("  ") is None
    assert web.parse_box("1, 2.5, 30, 40") == [1.0, 2.5, 30.0, 40.0]
    assert web.box_from_corners((50, 70), (20, 40)) == web.box_from_corners((20, 40), (50, 70)) == [20, 40, 30, 30]
    with pytest.raises(ValueError, match="zero size"):
        web.parse_box(web.format_box(web.box_from_corners((20, 40), (20, 60))))
    with pytest.raises(ValueError, match="four numbers"):
        web.parse_box("1, 2, three, 4")


def test_clicks_make_a_box_and_errors_are_messages(app, clip_path):
    clip, frame, box, status = app.load_video(str(clip_path))
    assert clip.frames == 12 and frame.shape == (96, 128, 3) and "12 frames" in status
    clip, marker, box, status = app.click(clip, 10, 30, box)
    assert box == "" and "opposite corner" in status and not np.array_equal(marker, frame)
    clip, preview, box, status = app.click(clip, 40, 60, box)
    assert box == "10, 30, 30, 30" and status.startswith("Box")
    assert (preview[30, 10:41] == (0, 255, 0)).all()  # the box drawn on the first frame
    clip, _, same, status = app.click(clip, 40, 60, box)
    clip, _, same, status = app.click(clip, 40, 60, same)  # the same point twice
    assert same == "" and status.startswith("**Error:**") and "zero size" in status
    assert app.run(clip, "", " ", "fp32") == (
        "**Error:** Draw the target's box on the first frame (click two corners), type a description, or both",
        None, None)
    assert app.run(None, "1,2,3,4", "", "fp32")[0].startswith("**Error:** Upload a video")
    assert "outside the 128x96" in app.run(clip, "500, 10, 20, 20", "", "fp32")[0]
    _, _, _, status = app.load_video(str(clip_path.parent / "missing.mp4"))
    assert status.startswith("**Error:**")
    short = web.WebApp(workdir=app.workdir / "short", max_frames=11)
    assert short.load_video(str(clip_path))[0] is None
    assert "more than 11 frames, the page's limit" in short.load_video(str(clip_path))[3]


def test_run_writes_one_box_per_frame_and_a_playable_video(app, clip_path):
    clip = app.load_video(str(clip_path))[0]
    status, video, files = app.run(clip, "10, 30, 30, 30", "the red square", "fp32")
    assert status.startswith("Tracked 12 frames"), status
    lines = Path(files[0]).read_text().splitlines()
    assert Path(files[0]).name == "boxes.txt" and len(lines) == 12 and lines[0] == "10.00,30.00,30.00,30.00"
    data = json.loads(Path(files[1]).read_text())
    assert len(data["frames"]) == 12 and data["text"] == "the red square"
    assert Path(video).suffix == ".webm" and len(list(open_source(video))) == 12  # VP8, which browsers play
    status, _, files = app.run(clip, "", "the red square", "bf16")  # text only: found from the description
    assert status.startswith("Tracked 12 frames") and "bf16" in status
    assert len(Path(files[0]).read_text().splitlines()) == 12
    if "int8" in app.pool.precisions():  # offered where this Tracker has it: then it runs
        assert app.run(clip, "10, 30, 30, 30", "", "int8")[0].startswith("Tracked 12 frames")


def test_precisions_offer_int8_only_where_the_tracker_takes_it(monkeypatch):
    calls = []

    def fake(path=None, device="cpu", precision="fp32"):
        calls.append(precision)
        if precision == "int8":
            raise ValueError("precision must be fp32, bf16 or fp16, got 'int8'")
        return object()

    monkeypatch.setattr(web.Tracker, "from_checkpoint", staticmethod(fake))
    assert web.TrackerPool().precisions() == ["fp32", "bf16"] and calls == ["int8"]
    monkeypatch.setattr(web.Tracker, "from_checkpoint", staticmethod(lambda *a, **k: object()))
    assert web.TrackerPool(device="cuda").precisions() == ["fp32", "bf16", "fp16", "int8"]


def test_examples_are_generated_once_with_text_and_box(app):
    clip, preview, box, text, status = app.load_example("SynthVL example 2")
    folder, text2, box2 = web.example_clips(app.workdir / "examples")[1]
    assert text == text2 and web.parse_box(box) == pytest.approx([round(v, 1) for v in box2])
    assert 48 <= clip.frames <= 72 and clip.first_frame.shape == (240, 320, 3) and "SynthVL example 2" in status
    assert len(web.example_clips(app.workdir / "examples")) == web.EXAMPLE_COUNT


def test_serve_command_checks_its_options_and_gradio_stays_out_of_the_library():
    from allinone.cli import main

    assert main(["serve", "--max-frames", "1"]) == 2
    code = "import sys, allinone, allinone.cli, allinone.track.video; print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# --------------------------------------------------------------------------- in a real browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``allinone serve`` in a subprocess on a free port; yields its URL."""
    port, log = _free_port(), tmp_path_factory.mktemp("server") / "serve.log"
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "allinone.cli", "serve", "--port", str(port),
                                 "--max-frames", "100"], stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 180
        while True:
            try:
                urllib.request.urlopen(url, timeout=5)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail(f"allinone serve did not start:\n{log.read_text()}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("selenium", reason="the browser test needs selenium (pip install selenium)")
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip(f"no {CHROMIUM} / {CHROMEDRIVER}: apt-get install chromium chromium-driver (make test-web)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1250",
                "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def synth_clip(tmp_path_factory):
    """A short SynthVL scene as an .mp4, with its first box and description."""
    root = tmp_path_factory.mktemp("synth")
    name = generate_synthvl(root, 1, seed=15, split="test", config=SynthConfig(min_frames=30, max_frames=30),
                            progress=False)[0]
    seq = root / name.rsplit("-", 1)[0] / name
    box = [float(v) for v in (seq / "groundtruth.txt").read_text().splitlines()[0].split(",")]
    path = _write_video(root / "scene.mp4", list(open_source(seq / "img")), fps=15.0)
    return path, box, (seq / "nlp.txt").read_text().strip()


def _click_pixel(driver, px: float, py: float) -> None:
    """Click image pixel (px, py) of the first frame, as Gradio maps clicks (scaled down, centred)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    img = driver.find_element(By.CSS_SELECTOR, "#first-frame img")
    w, h, nw, nh = driver.execute_script(
        "const e = arguments[0], r = e.getBoundingClientRect();"
        "return [r.width, r.height, e.naturalWidth, e.naturalHeight];", img)
    s = min(w / nw, h / nh, 1.0)
    dx, dy = (w - nw * s) / 2 + px * s - w / 2, (h - nh * s) / 2 + py * s - h / 2
    ActionChains(driver).move_to_element_with_offset(img, math.floor(dx), math.floor(dy)).click().perform()


def test_page_end_to_end_in_chromium(server, browser, synth_clip, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    path, gt_box, description = synth_clip
    d, wait = browser, WebDriverWait(browser, 90)
    status = lambda: d.find_element(By.CSS_SELECTOR, "#status").text  # noqa: E731
    d.get(server)
    upload = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#video-input input[type=file]"))
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video\n")
    upload.send_keys(str(notes))
    wait.until(lambda d: "Error" in status())
    assert "'notes.txt' is not a video" in status()
    d.find_element(By.CSS_SELECTOR, "#video-input button[aria-label='Clear']").click()
    upload = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#video-input input[type=file]"))
    upload.send_keys(str(path))
    wait.until(lambda d: "scene.mp4" in status() and d.find_elements(By.CSS_SELECTOR, "#first-frame img"))
    assert "30 frames at 15 fps" in status()

    d.find_element(By.CSS_SELECTOR, "#run").click()  # neither box nor text
    wait.until(lambda d: "Error" in status())
    assert "type a description, or both" in status()

    x, y, w, h = gt_box
    _click_pixel(d, x, y)
    wait.until(lambda d: "First corner" in status())
    _click_pixel(d, x + w, y + h)
    wait.until(lambda d: status().startswith("Box"))
    drawn = web.parse_box(d.find_element(By.CSS_SELECTOR, "#box textarea").get_attribute("value"))
    assert np.abs(np.array(drawn) - gt_box).max() <= 2, (drawn, gt_box)
    d.find_element(By.CSS_SELECTOR, "#text textarea").send_keys(description)
    d.find_element(By.CSS_SELECTOR, "#run").click()
    wait.until(lambda d: "Tracked" in status() or "Error" in status())
    assert status().startswith("Tracked 30 frames"), status()

    video = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#result-video video"))
    wait.until(lambda d: d.execute_script("return arguments[0].readyState", video) >= 2)
    width, duration = d.execute_script("return [arguments[0].videoWidth, arguments[0].duration]", video)
    assert width == 320 and duration == pytest.approx(30 / 15.0, abs=0.2)
    links = {a.get_attribute("href").rsplit("/", 1)[-1]: a.get_attribute("href")
             for a in d.find_elements(By.CSS_SELECTOR, "#downloads a")}
    assert set(links) == {"boxes.txt", "boxes.json"}
    boxes = urllib.request.urlopen(links["boxes.txt"]).read().decode().splitlines()
    summary = json.loads(urllib.request.urlopen(links["boxes.json"]).read())
    assert len(boxes) == 30 and len(summary["frames"]) == 30 and summary["text"] == description
    assert np.abs(np.array([float(v) for v in boxes[0].split(",")]) - gt_box).max() <= 2

    time.sleep(0.5)  # let the video show a frame
    shot = tmp_path / "web-page.png"
    assert d.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")
    if os.environ.get("ALLINONE_WEB_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["ALLINONE_WEB_SCREENSHOT"])
