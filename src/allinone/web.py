"""``allinone serve``: a local web page (Gradio) to track an object in a video with the mouse.

Upload a video (or load a SynthVL example), click the target's two opposite corners on the first
frame, type its description, press *Track*; the annotated video plays in the page and the boxes
download as ``boxes.txt`` / ``boxes.json``. A thin layer over `Tracker` and ``track/video.py``:
frames are read by `open_source`, drawn by `draw_box` and the loop is `track_video`.
Imported only by ``allinone serve``; needs the ``web`` extra (``pip install 'allinone[web]'``).
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import cv2
import gradio as gr
import numpy as np

from .track.tracker import Tracker
from .track.video import draw_box, open_source, source_fps, track_video

DEFAULT_MAX_FRAMES = 1500  # ≈ 1 minute at 25 fps; longer videos: `allinone track` has no limit
EXAMPLE_COUNT = 3
HELP = ("Upload a video or load an example, click the target's **top-left** then **bottom-right** "
        "corner on the first frame (or type the box), describe the target, then press **Track**.")


@dataclass
class Clip:
    """The video the page works on: where it is, its first frame, length, rate and the pending click."""

    source: str
    name: str
    first_frame: np.ndarray
    frames: int
    fps: float
    corner: Optional[tuple[float, float]] = None  # first click of a box, waiting for the second


def probe_clip(source: str | Path, max_frames: int = DEFAULT_MAX_FRAMES, name: Optional[str] = None) -> Clip:
    """Read a video (or a folder of frames) once: its first frame and its length, checked against the limit.

    Raises ValueError with a message for the page when it is not a readable video, has fewer than
    two frames or more than `max_frames`.
    """
    name = name or Path(source).name
    first, count = None, 0
    try:
        frames = open_source(source)
        for frame in frames:
            first = frame if first is None else first
            count += 1
            if count > max_frames:
                frames.close()
                break
    except (ValueError, cv2.error, OSError) as exc:
        raise ValueError(f"'{name}' is not a video that can be read; upload an .mp4, .webm, .avi, .mov or .mkv "
                         f"file") from exc
    if count > max_frames:
        raise ValueError(f"'{name}' has more than {max_frames} frames, the page's limit (allinone serve "
                         f"--max-frames); cut it, or track it with `allinone track`, which has no limit")
    if first is None or count < 2:
        raise ValueError(f"'{name}' is not a video: {count} frame(s) could be read; upload a video file")
    return Clip(str(source), name, first, count, source_fps(source) or 30.0)


def parse_box(text: str, clip: Optional[Clip] = None) -> Optional[list[float]]:
    """``"x, y, w, h"`` (pixels) → 4 floats; empty → None. Raises ValueError naming the problem."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        box = [float(v) for v in text.replace(";", ",").split(",")]
    except ValueError:
        box = []
    if len(box) != 4 or not np.isfinite(box).all():
        raise ValueError(f"the box must be four numbers x, y, w, h in pixels, got '{text}'")
    if box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"the box {text} has zero size: click two different corners (top-left, then bottom-right)")
    if clip is not None:
        h, w = clip.first_frame.shape[:2]
        if box[0] >= w or box[1] >= h or box[0] + box[2] <= 0 or box[1] + box[3] <= 0:
            raise ValueError(f"the box {text} lies outside the {w}x{h} first frame")
    return box


def box_from_corners(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """Two clicked corners (any order) → ``x, y, w, h``."""
    x0, x1 = sorted((float(a[0]), float(b[0])))
    y0, y1 = sorted((float(a[1]), float(b[1])))
    return [x0, y0, x1 - x0, y1 - y0]


def format_box(box: Sequence[float]) -> str:
    """``x, y, w, h`` → ``"x, y, w, h"`` to 0.1 pixel, as the box field shows it."""
    return ", ".join(f"{v:g}" for v in (round(float(v), 1) for v in box))


class TrackerPool:
    """One `Tracker` per precision, loaded on first use and kept (tracking runs one at a time)."""

    def __init__(self, checkpoint: Optional[str] = None, device: str = "cpu"):
        self.checkpoint, self.device = checkpoint, device
        self._trackers: dict[str, Tracker] = {}
        self.lock = threading.Lock()

    def get(self, precision: str) -> Tracker:
        if precision not in self._trackers:
            self._trackers[precision] = Tracker.from_checkpoint(self.checkpoint, device=self.device,
                                                                precision=precision)
        return self._trackers[precision]

    def precisions(self) -> list[str]:
        """fp32 and bf16 (fp16 on CUDA), and int8 where this `Tracker` accepts it (tried at run time)."""
        found = ["fp32", "bf16"] + (["fp16"] if self.device.startswith("cuda") else [])
        try:
            self.get("int8")
            found.append("int8")
        except (ValueError, RuntimeError, NotImplementedError, ImportError):  # no int8 here (or not on this device)
            pass
        return found


def example_clips(folder: Path, count: int = EXAMPLE_COUNT) -> list[tuple[Path, str, list[float]]]:
    """Short SynthVL test sequences (generated on first use): (frames folder, description, first box)."""
    from .data.synthetic import SynthConfig, generate_synthvl

    done = folder / "done.txt"
    if not done.exists():
        cfg = SynthConfig(min_frames=48, max_frames=72)
        names = generate_synthvl(folder, count, seed=14, split="test", config=cfg, progress=False)
        done.write_text("\n".join(names) + "\n")
    out = []
    for name in done.read_text().split():
        seq = folder / name.rsplit("-", 1)[0] / name
        box = [float(v) for v in (seq / "groundtruth.txt").read_text().splitlines()[0].split(",")]
        out.append((seq / "img", (seq / "nlp.txt").read_text().strip(), box))
    return out


class WebApp:
    """The page's actions as plain methods (tested without a browser); `build` wires them to Gradio."""

    def __init__(self, checkpoint: Optional[str] = None, device: str = "cpu",
                 max_frames: int = DEFAULT_MAX_FRAMES, workdir: Optional[Path] = None):
        self.pool = TrackerPool(checkpoint, device)
        self.checkpoint, self.max_frames = checkpoint, max_frames
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="allinone-web-"))
        self.workdir.mkdir(parents=True, exist_ok=True)

    def load_video(self, path: Optional[str]) -> tuple:
        """Upload → (clip, first frame, box text, status)."""
        if not path:
            return None, None, "", HELP
        try:
            clip = probe_clip(path, self.max_frames, name=Path(path).name)
        except (ValueError, FileNotFoundError) as exc:
            return None, None, "", error(exc)
        return clip, clip.first_frame, "", self._info(clip)

    def load_example(self, label: str) -> tuple:
        """Example chosen → (clip, first frame, box text, description, status)."""
        index = int(label.split()[-1]) - 1 if label else 0
        folder, text, box = example_clips(self.workdir / "examples")[index]
        try:
            clip = probe_clip(folder, self.max_frames, name=label)
        except ValueError as exc:
            return None, None, "", "", error(exc)
        return clip, draw_box(clip.first_frame, box), format_box(box), text, self._info(clip)

    def _info(self, clip: Clip) -> str:
        h, w = clip.first_frame.shape[:2]
        return f"**{clip.name}**: {w}x{h}, {clip.frames} frames at {clip.fps:g} fps. {HELP}"

    def click(self, clip: Optional[Clip], x: float, y: float, box_text: str) -> tuple:
        """A click on the first frame at pixel (x, y) → (clip, preview, box text, status)."""
        if clip is None:
            return clip, None, box_text, error("upload a video or load an example first")
        if clip.corner is None:
            clip.corner = (x, y)
            marker = draw_box(clip.first_frame, (x - 3, y - 3, 6, 6))
            return clip, marker, box_text, "First corner set; now click the opposite corner."
        box, clip.corner = box_from_corners(clip.corner, (x, y)), None
        text = format_box(box)
        try:
            parse_box(text, clip)
        except ValueError as exc:
            return clip, clip.first_frame, "", error(exc)
        return clip, draw_box(clip.first_frame, box), text, f"Box {text}. Describe the target and press Track."

    def redraw(self, clip: Optional[Clip], box_text: str) -> Optional[np.ndarray]:
        """The box typed by hand → the preview with it (unchanged while it does not parse)."""
        if clip is None:
            return None
        try:
            box = parse_box(box_text, clip)
        except ValueError:
            return clip.first_frame
        return clip.first_frame if box is None else draw_box(clip.first_frame, box)

    def run(self, clip: Optional[Clip], box_text: str, text: str, precision: str) -> tuple:
        """Track → (status, annotated video path, [boxes.txt, boxes.json]); bad input → message only."""
        try:
            if clip is None:
                raise ValueError("upload a video or load an example first")
            box, text = parse_box(box_text, clip), (text or "").strip()
            if box is None and not text:
                raise ValueError("draw the target's box on the first frame (click two corners), type a "
                                 "description, or both")
            out = Path(tempfile.mkdtemp(prefix="run-", dir=self.workdir))
            with self.pool.lock:
                summary = track_video(clip.source, out_dir=out, checkpoint=self.checkpoint, text=text, bbox=box,
                                      tracker=self.pool.get(precision), fps=clip.fps,
                                      video_name="annotated.webm", total=clip.frames)
        except (ValueError, FileNotFoundError) as exc:
            return error(exc), None, None
        status = (f"Tracked {len(summary['frames'])} frames at {summary['fps'] or 0:.1f} FPS ({precision}, "
                  f"{self.pool.device}).")
        return status, str(out / "annotated.webm"), [str(out / "boxes.txt"), str(out / "boxes.json")]


def error(exc: object) -> str:
    """A message for the page's status line."""
    msg = " ".join(str(exc).split())
    return f"**Error:** {msg[:1].upper()}{msg[1:]}"


def build(app: WebApp) -> gr.Blocks:
    """The Gradio page around `app`."""
    with gr.Blocks(title="allinone tracker", analytics_enabled=False) as page:
        gr.Markdown("# allinone: track an object in a video\nThe All-in-One vision-language tracker, running "
                    "on this machine: a box, a description, or both.")
        clip = gr.State(None)
        with gr.Row():
            with gr.Column():
                video = gr.File(label="Video", elem_id="video-input", height=120)
                with gr.Row():
                    example = gr.Dropdown([f"SynthVL example {i + 1}" for i in range(EXAMPLE_COUNT)],
                                          value="SynthVL example 1", label="Or an example", scale=3)
                    load = gr.Button("Load example", elem_id="load-example", scale=1)
                frame = gr.Image(label="First frame: click two corners of the target", type="numpy",
                                 interactive=False, elem_id="first-frame", format="png", height=360)
                box = gr.Textbox(label="Box x, y, w, h (pixels)", elem_id="box")
                text = gr.Textbox(label="Description of the target", elem_id="text",
                                  placeholder="the small red triangle near the top")
                precision = gr.Radio(app.pool.precisions(), value="fp32", label="Precision")
                run = gr.Button("Track", variant="primary", elem_id="run")
            with gr.Column():
                status = gr.Markdown(HELP, elem_id="status")
                result = gr.Video(label="Annotated video", elem_id="result-video", autoplay=True, loop=True)
                files = gr.File(label="Boxes", file_count="multiple", elem_id="downloads")

        def on_select(c, b, evt: gr.SelectData):
            return app.click(c, float(evt.index[0]), float(evt.index[1]), b)

        def on_run(c, b, t, p, progress=gr.Progress(track_tqdm=True)):
            return app.run(c, b, t, p)

        video.upload(app.load_video, video, [clip, frame, box, status])
        video.clear(lambda: app.load_video(None), None, [clip, frame, box, status])
        load.click(lambda label: (*app.load_example(label), None), example, [clip, frame, box, text, status, video])
        frame.select(on_select, [clip, box], [clip, frame, box, status])
        box.submit(app.redraw, [clip, box], frame)
        box.blur(app.redraw, [clip, box], frame)
        run.click(on_run, [clip, box, text, precision], [status, result, files], concurrency_limit=1)
    return page


def serve(checkpoint: Optional[str] = None, host: str = "127.0.0.1", port: int = 7860, device: str = "cpu",
          max_frames: int = DEFAULT_MAX_FRAMES) -> None:
    """Start the page at http://host:port and block until interrupted."""
    app = WebApp(checkpoint, device=device, max_frames=max_frames)
    atexit.register(shutil.rmtree, app.workdir, ignore_errors=True)
    page = build(app)
    print(f"allinone web page: http://{host}:{port}  (Ctrl+C to stop)", flush=True)
    page.queue().launch(server_name=host, server_port=port, ssr_mode=False, allowed_paths=[str(app.workdir)],
                        show_error=False, quiet=True)
