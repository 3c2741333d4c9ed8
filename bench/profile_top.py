"""Summarise a py-spy `--format raw` profile (collapsed stacks): the top functions by own and total time.

    python -m bench.profile_top PROFILE.txt [--top 15] [--thread MainThread]

Own time: samples where the function is the innermost frame. Total time: samples where it is on the
stack at all (counted once per sample). Percentages are of all samples in the file (py-spy --idle is off by
default, so idle samples are not recorded). A profile recorded with `--threads` (bench.common.spy_on)
also gets each thread's share of the samples; `--thread` keeps one of them. Under uvloop py-spy
counts a thread waiting in `epoll_pwait` as active: the own time of the loop's outermost Python
frame (`Worker.execute_from_commandline`, mode's `ServiceThread._start_thread`) is mostly waiting.
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


THREAD = re.compile(r"^thread \((?P<id>\w+)\)(?::\s*(?P<name>.*))?$")


def summarise(path: Path, top: int = 15, thread: str | None = None) -> str:
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    samples = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        parts = stack.split(";")
        m = THREAD.match(parts[0])
        if m:  # recorded with --threads: the first element names the thread
            parts = parts[1:]
            threads[f"{m.group('id')} {m.group('name') or ''}".strip()] += count
            if thread is not None and thread not in (m.group("id"), m.group("name")):
                continue
        frames = [short(f) for f in parts]
        if not frames:
            continue
        samples += count
        own[frames[-1]] += count
        for f in set(frames):
            total[f] += count
    lines = [f"{samples} samples in {path.name}"]
    lines += [f"  thread {t}: {n} samples" for t, n in threads.most_common()]
    lines += ["", "own %   function (file)"]
    lines += [f"{100 * n / samples:5.1f}   {f}" for f, n in own.most_common(top)]
    lines += ["", "total % function (file)"]
    lines += [f"{100 * n / samples:5.1f}   {f}" for f, n in total.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("profile", type=Path)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--thread", help="keep only this thread's samples (its id or name, as listed)")
    a = ap.parse_args(argv)
    print(summarise(a.profile, a.top, a.thread))
    return 0


if __name__ == "__main__":
    sys.exit(main())
