"""Parsers on hostile cells: split_badges on 10 KB and 100 KB name cells, wall and CPU time.

Two cells per size: a name followed by `<span class='badge'>` repeated and never closed (the
shape that made the former regex backtrack: 8 s on 40 KB), and a name followed by thousands of
real badges. A linear parser takes about 10x longer on the 100 KB cell than on the 10 KB one; a
quadratic one about 100x. Each result is checked, so a fast wrong answer does not pass. The
former regex is timed once on the 10 KB unclosed cell for comparison.
"""

import html
import re
import time

from lpse_crawler.spse.values import split_badges, squeeze

NAME = "Jasa Kebersihan Gedung Kantor"
UNCLOSED = "<span class='badge'>"
REAL = "<span class='badge badge-warning'>Tender Ulang</span> "
SIZES = (10_000, 100_000)
REPEATS = 10
_FORMER_BADGE = re.compile(r"<span[^>]*class\s*=\s*['\"][^'\"]*badge[^'\"]*['\"][^>]*>(.*?)</span>", re.S)
_FORMER_TAG = re.compile(r"<[^>]+>")


def former_split_badges(cell: str) -> tuple[str, list[str]]:
    """split_badges as it was: two backtracking regexes."""
    badges = [squeeze(html.unescape(_FORMER_TAG.sub("", b))) for b in _FORMER_BADGE.findall(cell)]
    plain = _FORMER_TAG.sub(" ", _FORMER_BADGE.sub(" ", cell))
    return squeeze(html.unescape(plain)), [b for b in badges if b]


def cells(size: int) -> dict[str, tuple[str, tuple[str, list[str]]]]:
    """Hostile cells of about `size` characters, each with the answer split_badges must give."""
    unclosed, real = size // len(UNCLOSED), size // len(REAL)
    return {
        "unclosed": (f"{NAME} " + UNCLOSED * unclosed, (NAME, [])),
        "real badges": (f"{NAME} " + REAL * real, (NAME, ["Tender Ulang"] * real)),
    }


def timed(cell: str) -> tuple[float, float, tuple[str, list[str]]]:
    """Wall and CPU seconds per call (mean of REPEATS calls) and the result."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(REPEATS):
        result = split_badges(cell)
    return (time.perf_counter() - wall) / REPEATS, (time.process_time() - cpu) / REPEATS, result


def main() -> None:
    print(f"(p) split_badges on hostile name cells, mean of {REPEATS} calls")
    figures: dict[str, list[tuple[float, float]]] = {}
    right = True
    for size in SIZES:
        for shape, (cell, expected) in cells(size).items():
            wall, cpu, result = timed(cell)
            right &= result == expected
            figures.setdefault(shape, []).append((wall, cpu))
            size_kb, wall_ms, cpu_ms = len(cell) / 1000, wall * 1000, cpu * 1000
            print(f"    {shape:<12} {size_kb:6.1f} KB: wall {wall_ms:8.3f} ms, cpu {cpu_ms:8.3f} ms")
    for shape, ((wall_small, cpu_small), (wall_big, cpu_big)) in figures.items():
        ratio_wall, ratio_cpu = wall_big / wall_small, cpu_big / max(cpu_small, 1e-9)
        verdict = "linear" if ratio_cpu < 30 else "NOT LINEAR"
        print(f"    {shape:<12} 100 KB / 10 KB: wall x{ratio_wall:.1f}, cpu x{ratio_cpu:.1f} ({verdict})")
    print(f"    results right (name and every badge): {right}")
    cell, expected = cells(SIZES[0])["unclosed"]
    start = time.process_time()
    same = former_split_badges(cell) == expected
    former = time.process_time() - start
    print(f"    former regex, unclosed 10 KB cell: cpu {former:.2f} s (same answer: {same})")


if __name__ == "__main__":
    main()
