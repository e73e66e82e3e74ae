"""Splitting a benchmark run into N shards (``allinone test --shard K/N``), e.g. one per cluster job.

The split is deterministic and balanced by frame count: sequences are taken longest first (ties by
name) and each goes to the shard with the fewest frames so far (ties: the lowest shard number), the
"longest processing time first" rule. It depends only on the sequence names and their frame counts,
so every job computes the same split from the same dataset and the shards cover each sequence
exactly once. Shards are numbered 1..N.
"""
from __future__ import annotations

import heapq
from typing import Mapping


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` → ``(K, N)`` with 1 <= K <= N; a clear ValueError otherwise."""
    k, sep, n = str(text).strip().partition("/")
    try:
        index, count = int(k), int(n)
    except ValueError:
        index = count = 0
    if not sep or count < 1 or not 1 <= index <= count:
        raise ValueError(f"--shard expects K/N with 1 <= K <= N (shards are numbered from 1, e.g. "
                         f"--shard 1/8 ... --shard 8/8), got {text!r}")
    return index, count


def balanced_shards(frame_counts: Mapping[str, int], count: int) -> list[list[str]]:
    """Split sequence names into `count` lists whose frame totals are as even as the rule allows.

    frame_counts: {sequence name: frames}. Each list keeps the order of `frame_counts`.
    """
    if count < 1:
        raise ValueError(f"the number of shards must be at least 1, got {count}")
    heap = [(0, i) for i in range(count)]  # (frames so far, shard index)
    owner: dict[str, int] = {}
    for name in sorted(frame_counts, key=lambda s: (-int(frame_counts[s]), s)):
        frames, i = heapq.heappop(heap)
        owner[name] = i
        heapq.heappush(heap, (frames + int(frame_counts[name]), i))
    shards: list[list[str]] = [[] for _ in range(count)]
    for name in frame_counts:
        shards[owner[name]].append(name)
    return shards


def shard_names(frame_counts: Mapping[str, int], index: int, count: int) -> list[str]:
    """The names of shard `index` (1-based) of `count` (see `balanced_shards`)."""
    if not 1 <= index <= count:
        raise ValueError(f"shard {index} of {count} does not exist; shards are numbered 1..{count}")
    return balanced_shards(frame_counts, count)[index - 1]
