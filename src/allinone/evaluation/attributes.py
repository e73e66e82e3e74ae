"""Per-attribute analysis (`allinone analyze --attributes`): scores on the sequences that carry
each attribute, as the LaSOT MATLAB toolkit draws them.

Attribute labels are one file per sequence holding one 0/1 flag per attribute, in a fixed order
per dataset (`DATASET_ATTRIBUTES`; values comma- or whitespace-separated, a value > 0 is set, as the
toolkits' ``dlmread`` + ``> 0`` read them):

- SynthVL: ``<seq>/attributes.txt``, `allinone.data.synthetic.ATTRIBUTES` (docs/synthvl.md).
- LaSOT (and LaSOT_ext, same 14 attributes): the dataset download has none; they ship with the
  LaSOT evaluation toolkit as ``annos/att/<seq>.txt`` (e.g. airplane-1: ``0,1,0,0,0,1,0,0,1,0,0,0,1,0``).
  Looked for in the folder given to ``--attributes DIR``, else ``<root>/annos/att`` or ``<root>/att``.
- TNL2K: ``<seq>/attributes.txt`` in the dataset, or the TNL2K toolkit's ``annos/att/<seq>_attribute.txt``
  (``--attributes DIR``), 17 attributes.

`attribute_report` averages the per-sequence curves of `analysis.AnalysisReport.sequence_curves`
over each attribute's sequences with the same mean as the overall score (so the subset of all
sequences gives the overall scores exactly). As in the LaSOT toolkit, an attribute carried by
fewer than `MIN_SEQUENCES` (2) of the scored sequences is left out (and named in the output).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence as Seq

import numpy as np

from .metrics import mean_curves

MIN_SEQUENCES = 2  # the LaSOT toolkit plots an attribute only when at least 2 sequences have it
DATASET_ATTRIBUTES = ("synthvl", "lasot", "lasot_ext", "tnl2k")  # datasets with attribute labels

# (key, full name) in the order of the toolkit's files (the toolkits spell "Aspect Ration Change")
LASOT_ATTRIBUTES = (
    ("IV", "Illumination Variation"), ("POC", "Partial Occlusion"), ("DEF", "Deformation"),
    ("MB", "Motion Blur"), ("CM", "Camera Motion"), ("ROT", "Rotation"), ("BC", "Background Clutter"),
    ("VC", "Viewpoint Change"), ("SV", "Scale Variation"), ("FOC", "Full Occlusion"), ("FM", "Fast Motion"),
    ("OV", "Out-of-View"), ("LR", "Low Resolution"), ("ARC", "Aspect Ratio Change"),
)
TNL2K_ATTRIBUTES = (
    ("CM", "Camera Motion"), ("ROT", "Rotation"), ("DEF", "Deformation"), ("FOC", "Full Occlusion"),
    ("IV", "Illumination Variation"), ("OV", "Out-of-View"), ("POC", "Partial Occlusion"),
    ("VC", "Viewpoint Change"), ("SV", "Scale Variation"), ("BC", "Background Clutter"), ("MB", "Motion Blur"),
    ("ARC", "Aspect Ratio Change"), ("LR", "Low Resolution"), ("FM", "Fast Motion"),
    ("AS", "Adversarial Samples"), ("TC", "Thermal Crossover"), ("MS", "Modality Switch"),
)


def _synthvl_attributes() -> tuple[tuple[str, str], ...]:
    from ..data.synthetic import ATTRIBUTES

    return tuple((a, a.replace("_", " ")) for a in ATTRIBUTES)


def dataset_attributes(dataset: str) -> tuple[tuple[str, str], ...]:
    """``((key, full name), ...)`` of `dataset`'s attribute files, in file order; ValueError when the
    dataset has no per-sequence attribute labels."""
    table = {"synthvl": _synthvl_attributes, "lasot": lambda: LASOT_ATTRIBUTES,
             "lasot_ext": lambda: LASOT_ATTRIBUTES, "tnl2k": lambda: TNL2K_ATTRIBUTES}
    if dataset.lower() not in table:
        raise ValueError(f"dataset '{dataset}' has no per-sequence attribute labels that allinone reads; "
                         f"--attributes works for {', '.join(DATASET_ATTRIBUTES)}")
    return table[dataset.lower()]()


def read_attribute_file(path: str | Path, names: Seq[str]) -> dict[str, bool]:
    """One attribute file: one flag per name of `names`, comma- or whitespace-separated (a value
    > 0 is set). ValueError naming the file, the count found and the expected names otherwise."""
    path = Path(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    tokens = [t for t in re.split(r"[,\s;]+", text.strip()) if t]
    expected = f"expected {len(names)} comma- or whitespace-separated 0/1 flags ({', '.join(names)})"
    values = []
    for t in tokens:
        try:
            values.append(float(t))
        except ValueError:
            raise ValueError(f"{path}: {t!r} is not a number; {expected}") from None
    if len(values) != len(names) or not np.all(np.isfinite(values)):
        raise ValueError(f"{path}: {len(values)} value(s) in {text.strip()[:60]!r}; {expected} - is this "
                         "the attribute file of this dataset?")
    return {name: v > 0 for name, v in zip(names, values)}


def _sequence_folder(seq) -> Optional[Path]:
    """The sequence's folder: the frame folder's parent (``<seq>/img/``, ``<seq>/imgs/``)."""
    frames = getattr(seq, "frames", None)
    return Path(frames[0]).parent.parent if frames else None


def candidate_files(seq, roots: Seq[Path], folder: Optional[Path] = None) -> list[Path]:
    """Where sequence `seq`'s attribute file is looked for, in order.

    With `folder` (``--attributes DIR``): ``DIR/<seq>.txt``, ``DIR/<seq>_attribute.txt`` (TNL2K's
    toolkit) and ``DIR/<seq>/attributes.txt``. Otherwise ``<seq folder>/attributes.txt`` (and the
    outer folder of TNL2K's nested ``<seq>/<seq>/``), then ``<root>/annos/att/`` and ``<root>/att/``.
    """
    name = seq.name
    if folder is not None:
        return [folder / f"{name}.txt", folder / f"{name}_attribute.txt", folder / name / "attributes.txt"]
    paths = []
    seq_dir = _sequence_folder(seq)
    if seq_dir is not None:
        paths.append(seq_dir / "attributes.txt")
        if seq_dir.parent.name == name:  # TNL2K's nested <seq>/<seq>/
            paths.append(seq_dir.parent / "attributes.txt")
    for root in roots:
        for sub in ("annos/att", "att"):
            paths += [root / sub / f"{name}.txt", root / sub / f"{name}_attribute.txt"]
    return list(dict.fromkeys(paths))


def _missing_message(seq_name: str, dataset: str, looked: list[Path], folder: Optional[Path]) -> str:
    where = ", ".join(str(p) for p in looked[:4]) + (f" (and {len(looked) - 4} more)" if len(looked) > 4 else "")
    if folder is not None:
        fix = "pass the folder that holds the attribute files"
    elif dataset.lower() in ("lasot", "lasot_ext"):
        fix = ("LaSOT's attribute files come with the LaSOT evaluation toolkit, not the dataset: pass its "
               "annos/att folder with --attributes DIR")
    elif dataset.lower() == "tnl2k":
        fix = ("TNL2K sequences carry attributes.txt; or pass the TNL2K toolkit's folder of <seq>_attribute.txt "
               "with --attributes DIR")
    else:
        fix = "regenerate the sequence with `allinone synth`, or pass a folder of <seq>.txt with --attributes DIR"
    return f"no attribute file for sequence {seq_name} (looked for {where}); {fix}"


def sequence_attributes(sequences: Iterable, dataset: str, roots: Seq[str | Path] = (),
                        folder: Optional[str | Path] = None) -> dict[str, dict[str, bool]]:
    """``{seq: {attribute key: flag}}`` for `sequences` (objects with ``name`` and ``frames``).

    roots: dataset root folder(s), searched for the toolkits' ``annos/att`` / ``att``. folder: the
    folder of attribute files given by the user (``--attributes DIR``), searched instead.
    FileNotFoundError naming where it looked (and how to pass the folder) when a file is missing;
    ValueError when the dataset has no attribute labels or a file is malformed.
    """
    keys = [k for k, _ in dataset_attributes(dataset)]
    folder = Path(folder) if folder is not None else None
    if folder is not None and not folder.is_dir():
        raise FileNotFoundError(f"attribute folder not found: {folder} (--attributes DIR: the folder of "
                                "<seq>.txt or <seq>_attribute.txt files)")
    roots = [Path(r) for r in roots]
    found: dict[str, dict[str, bool]] = {}
    for seq in sequences:
        looked = candidate_files(seq, roots, folder)
        path = next((p for p in looked if p.is_file()), None)
        if path is None:
            raise FileNotFoundError(_missing_message(seq.name, dataset, looked, folder))
        found[seq.name] = read_attribute_file(path, keys)
    return found


class AttributeReport(dict):
    """``{tracker: {attribute: {"auc", "precision", "norm_precision", "sequences": n}}}``, percent.

    Attributes: ``labels`` {key: full name} in file order; ``counts`` {key: sequences carrying it,
    all attributes}; ``left_out`` {key: count} for those under `MIN_SEQUENCES`; ``total``: sequences
    scored; ``overall`` {tracker: AUC on all of them}.
    """

    def __init__(self, labels: Mapping[str, str]):
        super().__init__()
        self.labels = dict(labels)
        self.counts: dict[str, int] = {}
        self.left_out: dict[str, int] = {}
        self.total = 0
        self.overall: dict[str, float] = {}


def attribute_report(report, attributes: Mapping[str, Mapping[str, bool]],
                     labels: Optional[Mapping[str, str] | Seq[tuple[str, str]]] = None,
                     min_sequences: int = MIN_SEQUENCES) -> AttributeReport:
    """Scores per attribute from ``report.sequence_curves`` (an `analysis.AnalysisReport`).

    attributes: ``{seq: {key: flag}}`` (`sequence_attributes`), covering every scored sequence.
    labels: ``{key: full name}`` or ``dataset_attributes(...)`` (default: the keys of the first
    sequence). Each attribute's curves are the mean over its sequences (`metrics.mean_curves`, as the
    overall score); attributes on fewer than `min_sequences` sequences are left out (``left_out``).
    """
    first = next(iter(report.sequence_curves.values()), {})
    missing = [s for s in first if s not in attributes]
    if missing:
        raise ValueError(f"no attribute labels for scored sequence(s) {', '.join(missing[:5])}")
    if labels is None:
        labels = {k: k for k in (attributes[next(iter(first))] if first else {})}
    out = AttributeReport(dict(labels))
    out.total = len(first)
    for key in out.labels:
        members = [s for s in first if attributes[s].get(key, False)]
        out.counts[key] = len(members)
        if len(members) < min_sequences:
            out.left_out[key] = len(members)
    for tracker, per_seq in report.sequence_curves.items():
        out.overall[tracker] = mean_curves(list(per_seq.values())).auc
        out[tracker] = {}
        for key in out.labels:
            if key in out.left_out:
                continue
            members = [c for s, c in per_seq.items() if attributes[s].get(key, False)]
            out[tracker][key] = {**mean_curves(members).scores(), "sequences": len(members)}
    return out


def format_attribute_table(attr: AttributeReport) -> str:
    """Rows: all sequences, then each attribute, with its sequence count ``[n]``; columns: each
    tracker's AUC (percent), best overall first. Ends with a line naming the attributes left out."""
    trackers = sorted(attr, key=lambda t: -attr.overall[t])
    rows = [(f"all [{attr.total}]", [attr.overall[t] for t in trackers])]
    for key, full in attr.labels.items():
        if key not in attr.left_out:
            name = key if full == key or full == key.replace("_", " ") else f"{key} {full}"
            rows.append((f"{name} [{attr.counts[key]}]", [attr[t][key]["auc"] for t in trackers]))
    width = max([len("attribute [#seqs]")] + [len(r[0]) for r in rows])
    cols = [max(7, len(t)) for t in trackers]
    lines = [f"{'attribute [#seqs]':<{width}}  " + "  ".join(f"{t:>{c}}" for t, c in zip(trackers, cols))
             + "   (AUC)"]
    for label, values in rows:
        lines.append(f"{label:<{width}}  " + "  ".join(f"{v:>{c}.2f}" for v, c in zip(values, cols)))
    if attr.left_out:
        shown = ", ".join(f"{k} ({n})" for k, n in attr.left_out.items())
        lines.append(f"left out, on fewer than {MIN_SEQUENCES} sequences (as the LaSOT toolkit does): {shown}")
    return "\n".join(lines)


def write_attribute_plot(attr: AttributeReport, path: str | Path, dataset: Optional[str] = None) -> Path:
    """A grouped bar plot of each tracker's AUC on all sequences, then per attribute (x labels
    ``key [n]``), values on the bars; the attributes left out are named below. PNG at `path`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    keys = [k for k in attr.labels if k not in attr.left_out]
    trackers = sorted(attr, key=lambda t: -attr.overall[t])
    groups = ["all"] + keys
    fig_w = max(6.5, 0.45 * len(groups) * max(1, len(trackers)) ** 0.5 + 3.0)
    fig = Figure(figsize=(fig_w, 4.8), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / max(1, len(trackers))
    x = np.arange(len(groups))
    for i, t in enumerate(trackers):
        values = [attr.overall[t]] + [attr[t][k]["auc"] for k in keys]
        bars = ax.bar(x + (i - (len(trackers) - 1) / 2) * width, values, width, color=f"C{i % 10}",
                      label=f"{t} [{attr.overall[t]:.1f}]")
        if len(groups) * len(trackers) <= 40:
            ax.bar_label(bars, fmt="%.1f", fontsize=6, padding=1)
    ax.axvline(0.5, color="0.5", linewidth=0.8, linestyle=":")
    ax.set_xticks(x)
    ax.set_xticklabels([f"all [{attr.total}]"] + [f"{k} [{attr.counts[k]}]" for k in keys],
                       rotation=45, ha="right", fontsize=8)
    suffix = f" on {dataset}" if dataset else ""
    ax.set(title=f"Success AUC per attribute{suffix}", ylabel="AUC [%]", ylim=(0.0, 105.0),
           xlim=(-0.6, len(groups) - 0.4))
    ax.grid(True, axis="y", linestyle="--", alpha=0.5)
    if trackers:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, title="tracker [AUC]",
                  title_fontsize=8, frameon=False)
    note = ""
    if attr.left_out:
        import textwrap

        note = textwrap.fill(f"left out, on fewer than {MIN_SEQUENCES} sequences: "
                             + ", ".join(f"{k} [{n}]" for k, n in attr.left_out.items()),
                             width=int(fig_w * 17))
    bottom = 0.035 * (note.count("\n") + 1) + 0.01 if note else 0.0
    fig.tight_layout(rect=(0.0, bottom, 1.0, 1.0))
    if note:
        fig.text(0.01, 0.01, note, fontsize=7, va="bottom")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
