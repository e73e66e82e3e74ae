"""`allinone analyze`: score results folders against a dataset's ground truth.

`analyze` takes sequences (any objects with ``name``, ``boxes`` (N, 4), ``visible`` (N,) and
``dataset``) and results folders (one per tracker; the folder's name is the tracker's name) and
returns an `AnalysisReport`: the dict that ``--json`` writes,

    {"<tracker>": {"auc": 72.8, "precision": 78.1, "norm_precision": 81.5,
                   "per_sequence": {"<seq>": {"auc": 64.3}, ...}}, ...}

values in percent (see `metrics` for both modes' conventions). The curves for plots ride along as
attributes, outside the JSON: ``report.curves[tracker]`` (mean `Curves`, fractions) and
``report.sequence_curves[tracker][seq]``. `analyze_command` with ``attributes`` adds, per
tracker, ``"attributes": {attr: {"auc", "precision", "norm_precision", "sequences"}}`` and
``"attributes_left_out"`` (see `attributes`).

As in pytracking, with ``skip_missing`` a sequence lacking a result for *any* tracker is dropped
for all of them, so every tracker is scored on the same sequences. A result is ``<seq>.txt`` or,
in the got10k toolkit's layout, ``<seq>/<seq>_001.txt``.

Result files of another length than the sequence follow pytracking's analysis in pytracking mode:
extra lines are dropped (LaSOT's monkey-17 has one extra line in many published raw results); a
short file is an error for LaSOT (and SynthVL, which follows LaSOT) and is padded with zero boxes
(misses) for the other datasets. Either case is reported with a warning. In got10k mode the
lengths must be equal.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Iterable, Optional, Sequence as Seq

from .metrics import Curves, absence_policy, check_mode, mean_curves, sequence_curves
from .results import find_result, got10k_result_path, read_results, result_path

# pytracking's analysis fails on a short result file only where the dataset is 'lasot' (SynthVL follows LaSOT)
SHORT_RESULTS_FAIL = ("lasot", "synthvl")


class AnalysisReport(dict):
    """``{tracker: {"auc", "precision", "norm_precision", "per_sequence": {seq: {"auc"}}}}``, percent.

    Attributes (not serialised): ``mode``; ``curves`` {tracker: mean `Curves`};
    ``sequence_curves`` {tracker: {seq: `Curves`}}.
    """

    def __init__(self, mode: str = "pytracking"):
        super().__init__()
        self.mode = mode
        self.curves: dict[str, Curves] = {}
        self.sequence_curves: dict[str, dict[str, Curves]] = {}


def tracker_name(results_dir: str | Path) -> str:
    """The tracker's name: the results folder's name."""
    path = Path(results_dir)
    return path.name or path.resolve().name


def _missing_message(folder: Path, sequence: str, tracker: str) -> str:
    path = result_path(folder, sequence)
    why = (f"the results folder {folder} does not exist" if not folder.is_dir()
           else f"tracker '{tracker}'; nor {got10k_result_path(folder, sequence)}")
    return (f"result file missing: {path} ({why}; run `allinone test` first, or skip missing sequences "
            "with --skip-missing)")


def _find_results(sequences: list, dirs: list[Path], names: list[str], skip_missing: bool) -> list:
    """The sequences every tracker has a result for (or an error naming the first missing file)."""
    missing: dict[str, list[str]] = {name: [] for name in names}
    for seq in sequences:
        for d, name in zip(dirs, names):
            if find_result(d, seq.name) is None:
                if not skip_missing:
                    raise FileNotFoundError(_missing_message(d, seq.name, name))
                missing[name].append(seq.name)
    for name, seqs in missing.items():
        if seqs:
            shown = ", ".join(seqs[:5]) + (f", … ({len(seqs)} in all)" if len(seqs) > 5 else "")
            warnings.warn(f"{name}: no result for {shown}; skipped for every tracker", stacklevel=3)
    dropped = {s for seqs in missing.values() for s in seqs}
    kept = [seq for seq in sequences if seq.name not in dropped]
    if not kept:
        raise FileNotFoundError(f"no sequence has results for every tracker in {', '.join(map(str, dirs))}")
    return kept


def length_rule(dataset: str, mode: str) -> str:
    """How a result file of another length than its sequence is taken (a `metrics` ``lengths``
    rule): pytracking mode truncates, and pads short files except for LaSOT; got10k mode: equal."""
    if mode != "pytracking":
        return "equal"
    return "truncate" if dataset.lower() in SHORT_RESULTS_FAIL else "truncate_or_pad"


def _score_sequence(seq, path: Path, mode: str) -> Curves:
    pred = read_results(path)
    gt = seq.boxes
    dataset = getattr(seq, "dataset", "") or ""
    rule = length_rule(dataset, mode)
    if len(pred) != len(gt):
        counts = f"{path}: {len(pred)} result lines but sequence '{seq.name}' has {len(gt)} frames"
        if rule == "equal" or (rule == "truncate" and len(pred) < len(gt)) or len(pred) == 0:
            why = (f"pytracking's analysis accepts a short file only for datasets other than {dataset}"
                   if rule == "truncate" else "the file must hold one box per frame")
            raise ValueError(f"{counts}; {why}")
        what = "the extra lines are ignored" if len(pred) > len(gt) else "the missing frames count as zero boxes"
        warnings.warn(f"{counts}; {what} (pytracking's rule)", stacklevel=4)
    try:
        return score_boxes(seq, pred, mode, lengths=rule)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def score_boxes(seq, pred, mode: str = "pytracking", lengths: str = "equal") -> Curves:
    """One sequence's curves for boxes `pred` (N, 4), with its dataset's absence rules (the
    sequence's ``dataset``; `lengths`: see `metrics.sequence_errors`)."""
    policy = absence_policy(getattr(seq, "dataset", "") or "")
    visible = seq.visible if policy.use_flags else None
    return sequence_curves(pred, seq.boxes, visible, absent_is_miss=policy.absent_is_miss, mode=mode,
                           lengths=lengths)


def analyze(sequences: Iterable, results_dirs: Seq[str | Path], mode: str = "pytracking",
            skip_missing: bool = False, *, print_table: bool = True) -> AnalysisReport:
    """Score each results folder on `sequences`; prints a table unless ``print_table=False``.

    Raises FileNotFoundError naming the first missing ``<seq>.txt`` (unless ``skip_missing``:
    then a warning, and the sequence is left out for all trackers), ValueError naming the file
    and both counts when a file's line count differs from the sequence's frame count where the
    mode's length rule does not accept it (`length_rule`; accepted differences are warned about).
    """
    check_mode(mode)
    sequences = list(sequences)
    dirs = [Path(d) for d in results_dirs]
    if not dirs:
        raise ValueError("no results folder given")
    if not sequences:
        raise ValueError("no sequences to score")
    names = [tracker_name(d) for d in dirs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"several results folders are named {', '.join(dup)}; the folder's name is the "
                         "tracker's name in the report: rename or copy one")
    kept = _find_results(sequences, dirs, names, skip_missing)
    report = AnalysisReport(mode)
    for d, name in zip(dirs, names):
        per_seq = {seq.name: _score_sequence(seq, find_result(d, seq.name), mode) for seq in kept}
        report.sequence_curves[name] = per_seq
        report.curves[name] = mean_curves(list(per_seq.values()))
        report[name] = {**report.curves[name].scores(),
                        "per_sequence": {s: {"auc": c.auc} for s, c in per_seq.items()}}
    if print_table:
        print(format_table(report))
    return report


def format_table(report: AnalysisReport) -> str:
    """Tracker, AUC, P@20, NP and #sequences, best AUC first (percent, 2 decimals)."""
    np_head = "NP(mean)" if getattr(report, "mode", "pytracking") == "got10k" else "NP@0.20"
    width = max([len("tracker")] + [len(n) for n in report])
    lines = [f"{'tracker':<{width}}  {'AUC':>7}  {'P@20':>7}  {np_head:>8}  {'#seqs':>5}"]
    for name, r in sorted(report.items(), key=lambda kv: -kv[1]["auc"]):
        lines.append(f"{name:<{width}}  {r['auc']:>7.2f}  {r['precision']:>7.2f}  "
                     f"{r['norm_precision']:>8.2f}  {len(r['per_sequence']):>5}")
    return "\n".join(lines)


def analyze_command(dataset: str, root: str | Path, results: Seq[str | Path], json_out: Optional[str | Path] = None,
                    plot_dir: Optional[str | Path] = None, mode: str = "pytracking", split: Optional[str] = None,
                    skip_missing: bool = False, attributes: bool | str | Path | None = None) -> AnalysisReport:
    """What ``allinone analyze`` runs: open the dataset, score, print the table, write JSON and plots.

    dataset/root/split: passed to `allinone.data.open_dataset`. results: one folder per tracker.
    json_out: where to write the report (parent folders created). plot_dir: folder for
    ``success_plot.png``, ``precision_plot.png``, ``norm_precision_plot.png``. attributes: True, or
    the folder of the toolkit's attribute files, adds the per-attribute analysis (`attributes`
    module): a table, ``report[tracker]["attributes"]`` and ``attributes_auc.png``.
    """
    from ..data import open_dataset

    with_attributes = attributes is not None and attributes is not False
    if with_attributes:
        from .attributes import dataset_attributes

        dataset_attributes(dataset)  # a dataset without attribute labels fails before any scoring
    ds = open_dataset(dataset, root, split=split, skip_missing=skip_missing)  # also: sequences without ground truth
    sequences = ds.sequences()
    report = analyze(sequences, results, mode=mode, skip_missing=skip_missing)
    attr = None
    if with_attributes:
        attr = _attribute_analysis(report, sequences, dataset, [Path(root), ds.root],
                                   None if attributes is True else attributes)
    if json_out:
        out = Path(json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
    if plot_dir:
        from .plots import write_plots

        paths = write_plots(report, plot_dir, dataset=dataset)
        if attr is not None:
            from .attributes import write_attribute_plot

            paths["attributes"] = write_attribute_plot(attr, Path(plot_dir) / "attributes_auc.png", dataset=dataset)
        print(f"plots: {', '.join(str(p) for p in paths.values())}")
    return report


def _attribute_analysis(report: AnalysisReport, sequences: list, dataset: str, roots: list[Path],
                        folder: Optional[str | Path]):
    """Per-attribute scores of the scored sequences: printed, and added to the report under each
    tracker as ``"attributes"`` (and ``"attributes_left_out"``: {attribute: #sequences})."""
    from .attributes import attribute_report, dataset_attributes, format_attribute_table, sequence_attributes

    labels = dataset_attributes(dataset)
    scored = set(next(iter(report.sequence_curves.values())))
    flags = sequence_attributes([s for s in sequences if s.name in scored], dataset,
                                list(dict.fromkeys(roots)), folder)
    attr = attribute_report(report, flags, labels)
    print(format_attribute_table(attr))
    for tracker, per_attr in attr.items():
        report[tracker]["attributes"] = per_attr
        report[tracker]["attributes_left_out"] = dict(attr.left_out)
    return attr
