"""Matching throughput: 100,000 filters against 10,000 packages, index next to a naive loop.

Packages take the 128 recorded package names (tests/files/recorded); filters take 1-2
keyword terms (a term may be an OR of two words) from those names' 500-odd words, and the
real instance registry: most filters name a few instances or a province, as vendors do;
a fifth are nationwide. The naive loop is timed on a sample of packages in the same run
(it is far too slow for all of them) and compared per package. Targets: at least 50x
faster than the naive loop and under 1 ms per package.
"""

import json
import random
import time
from collections import defaultdict
from pathlib import Path

from lpse_crawler.matching.filters import FilterError, parse_filter
from lpse_crawler.matching.fit import tender_facts
from lpse_crawler.matching.index import CompiledFilter, FilterIndex, naive_match
from lpse_crawler.matching.textmatch import words
from lpse_crawler.spse.registry import load_registry

RECORDED = Path(__file__).resolve().parent.parent / "tests" / "files" / "recorded"
FILTERS, PACKAGES, NAIVE_SAMPLE = 100_000, 10_000, 100
CATEGORIES = ["barang", "konstruksi", "konsultansi", "lainnya"]


def recorded_names() -> list[str]:
    """The 128 package names of every recorded listing (all kinds)."""
    names = []
    for path in sorted(RECORDED.glob("dt_*.json")):
        names += [str(row[1]).split("<span")[0] for row in json.loads(path.read_text())["data"]]
    return names


def make_filters(rng, names, codes, provinces) -> list[str]:
    vocab = sorted({w for n in names for w in words(n) if len(w) > 2})
    texts = []
    for _ in range(FILTERS):
        parts = [" | ".join(rng.sample(vocab, rng.choice([1, 1, 2]))) for _ in range(rng.choice([1, 1, 2]))]
        if rng.random() < 0.3:
            parts.append(f"-{rng.choice(vocab)}")
        scope = rng.random()
        if scope < 0.6:
            parts.append("lpse:" + ",".join(rng.sample(codes, rng.randint(1, 5))))
        elif scope < 0.8:
            parts.append(f'provinsi:"{rng.choice(provinces)}"')
        if rng.random() < 0.5:
            parts.append(f"kategori:{rng.choice(CATEGORIES)}")
        if rng.random() < 0.3:
            parts.append(rng.choice(["hps:>=100jt", "hps:<=5m", "hps:200jt-10m"]))
        texts.append(" ".join(parts))
    return texts


def main() -> None:
    rng = random.Random(2026)
    registry = load_registry()
    codes = [r.code for r in registry]
    province_of = {r.code: r.province for r in registry}
    by_province = defaultdict(set)
    for code, province in province_of.items():
        by_province[province].add(code)
    province_names = {" ".join(words(p)): p for p in by_province}
    names = recorded_names()
    start = time.perf_counter()
    compiled = []
    for n, text in enumerate(make_filters(rng, names, codes, sorted(by_province))):
        try:
            compiled.append(
                CompiledFilter(n, n // 3, f"f{n}", parse_filter(text, set(codes), province_names))
            )
        except FilterError:
            continue
    index = FilterIndex(compiled, by_province)
    built = time.perf_counter() - start
    packages = []
    for _ in range(PACKAGES):
        code = rng.choice(codes)
        kategori = rng.choice(["Pengadaan Barang", "Pekerjaan Konstruksi", "Jasa Lainnya"])
        hps = rng.choice([None, 150_000_000, 2_000_000_000])
        packages.append(
            tender_facts(
                nama=rng.choice(names),
                instances={code},
                provinces={province_of[code]},
                instansi="Kota Surabaya",
                kategori=kategori,
                kind="tender",
                kbli=[],
                size=None,
                hps=hps,
                pagu=None,
                hps_listing=None,
            )
        )
    start = time.perf_counter()
    matched = sum(len(index.match(p)) for p in packages)
    indexed = (time.perf_counter() - start) / len(packages)
    sample = packages[:NAIVE_SAMPLE]
    start = time.perf_counter()
    naive_matched = sum(len(naive_match(compiled, p)) for p in sample)
    naive = (time.perf_counter() - start) / len(sample)
    same = sum(len(index.match(p)) for p in sample) == naive_matched
    print(f"(c) matching {len(compiled):,} filters (compiled in {built:.1f} s) against {PACKAGES:,} packages")
    verdict = "MET" if indexed < 0.001 else "MISSED"
    print(
        f"    index: {indexed * 1000:.3f} ms per package, {matched / PACKAGES:.0f} matches per package "
        f"(target < 1 ms: {verdict})"
    )
    print(f"    naive loop over every filter ({NAIVE_SAMPLE} packages): {naive * 1000:.1f} ms per package")
    speedup = naive / indexed
    print(
        f"    speed-up {speedup:,.0f}x (target >= 50x: {'MET' if speedup >= 50 else 'MISSED'}); "
        f"same matches on the sample: {same}"
    )


if __name__ == "__main__":
    main()
