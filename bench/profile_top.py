"""Summarise a py-spy `--format raw` profile (collapsed stacks): the top functions by own and total time.

    python -m bench.profile_top PROFILE.txt [--top 15] [--thread-filter MainThread]

Own time: samples where the function is the innermost frame. Total time: samples where it is on the
stack at all (counted once per sample). Percentages are of all samples in the file (idle included:
py-spy --idle is off by default, so idle samples are not recorded).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def short(frame: str) -> str:
    m = FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    for marker in ("site-packages/", "/work/main/", "python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{m.group('func')} ({path})"


def summarise(path: Path, top: int = 15) -> str:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [short(f) for f in stack.split(";")[1:]]  # first element: process/thread
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        for f in set(frames):
            total[f] += count
    lines = [f"{samples} samples in {path.name}", "", "own %   function (file)"]
    lines += [f"{100 * n / samples:5.1f}   {f}" for f, n in own.most_common(top)]
    lines += ["", "total % function (file)"]
    lines += [f"{100 * n / samples:5.1f}   {f}" for f, n in total.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("profile", type=Path)
    ap.add_argument("--top", type=int, default=15)
    a = ap.parse_args(argv)
    print(summarise(a.profile, a.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
