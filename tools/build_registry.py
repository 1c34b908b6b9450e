"""Rebuild lpse_crawler/instances.csv from the instance lists in ../shared/fixtures/lists.

    python tools/build_registry.py [--lists ../shared/fixtures/lists]

all_lpse_urls.csv gives the 600 slugs and the agencies each serves; the 2021 inaproc list
(matched on the old per-LPSE host) and the 2024 repo-id list give the province, from which
the timezone follows. Prints how many instances got a province.
"""

import argparse
import csv
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "lpse_crawler" / "instances.csv"
WITA = {
    "Bali",
    "Nusa Tenggara Barat",
    "Nusa Tenggara Timur",
    "Kalimantan Selatan",
    "Kalimantan Timur",
    "Kalimantan Utara",
    "Sulawesi Utara",
    "Sulawesi Tengah",
    "Sulawesi Selatan",
    "Sulawesi Tenggara",
    "Sulawesi Barat",
    "Gorontalo",
}
WIT = {"Maluku", "Maluku Utara", "Papua", "Papua Barat"}
WIB_WEST_BORNEO = {"Kalimantan Barat", "Kalimantan Tengah"}
# Instances that none of the lists places: regencies of the 2022 Papua provinces and
# central agencies (seated in Jakarta). Geography, kept by hand.
PROVINCE_OVERRIDES = {
    "bovendigoelkab": "Papua Selatan",
    "deiyaikab": "Papua Tengah",
    "paniaikab": "Papua Tengah",
    "ndugakab": "Papua Pegunungan",
    "yahukimokab": "Papua Pegunungan",
    "pegafkab": "Papua Barat",
    "manselkab": "Papua Barat",
} | dict.fromkeys(
    [
        "badanpangan",
        "bappenas",
        "bpkp",
        "karantinaindonesia",
        "kemendikdasmen",
        "kemenkopukm",
        "kemenkum",
        "kemenpar",
        "kemensos",
        "kemkes",
        "komdigi",
        "wantannas",
    ],
    "DKI Jakarta",
)


def timezone_for(province: str | None) -> str:
    if province in WITA:
        return "Asia/Makassar"
    if province in WIT or (province or "").startswith("Papua"):
        return "Asia/Jayapura"
    if province in WIB_WEST_BORNEO:
        return "Asia/Pontianak"
    return "Asia/Jakarta"


def host_key(url: str) -> str:
    """`https://www.lpse.kemenkeu.go.id/eproc4` -> `lpse.kemenkeu.go.id`."""
    host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    return host.removeprefix("www.")


def agency_label(url: str) -> str:
    """The label that names the agency: `https:/.esdm.go.id` and `lpse.esdm.go.id` -> `esdm`."""
    labels = re.split(r"[./:]+", url.lower())
    generic = {"https", "http", "www", "lpse", "eproc", "eproc4", "spse", "tender", "go", "id", ""}
    return next((label for label in labels if label not in generic), "")


def name_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def province_index(lists: Path) -> dict[str, str]:
    """Province by old host, by agency label and by LPSE name (the 2021 list has broken URLs)."""
    entries = json.loads((lists / "inaproc_lpse-list_2021.json").read_text(encoding="utf-8"))
    index: dict[str, str] = {}
    for e in entries:
        if not e.get("provinsi"):
            continue
        index.setdefault(f"host:{host_key(e['url'] or '')}", e["provinsi"])
        index.setdefault(f"label:{agency_label(e['url'] or '')}", e["provinsi"])
        index.setdefault(f"name:{name_key(e['nama'] or '')}", e["provinsi"])
    return index


def find_province(index: dict[str, str], old_url: str, name: str) -> str | None:
    keys = (f"host:{host_key(old_url)}", f"label:{agency_label(old_url)}", f"name:{name_key(name)}")
    return next((index[k] for k in keys if k in index), None)


def build(lists: Path) -> list[dict]:
    index = province_index(lists)
    agencies: dict[str, list[str]] = defaultdict(list)
    lpse_name: dict[str, str] = {}
    old_urls: dict[str, str] = {}
    with (lists / "all_lpse_urls.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            slug = urlsplit(row["url"]).path.strip("/")
            if not re.fullmatch(r"[a-z0-9-]+", slug):
                raise SystemExit(f"unexpected slug in {row['url']!r}")
            agency, _, name = row["name"].partition(" > ")
            agencies[slug].append(agency.strip())
            lpse_name.setdefault(slug, name.strip() or agency.strip())
            old_urls.setdefault(slug, row["old_url"])
    instances = []
    for slug in sorted(agencies):
        province = PROVINCE_OVERRIDES.get(slug) or find_province(index, old_urls[slug], lpse_name[slug])
        instances.append(
            {
                "code": slug,
                "name": lpse_name[slug],
                "agencies": "|".join(sorted(set(agencies[slug]))),
                "province": province or "",
                "timezone": timezone_for(province),
            }
        )
    return instances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lists", type=Path, default=ROOT.parent / "shared" / "fixtures" / "lists")
    args = parser.parse_args()
    instances = build(args.lists)
    with OUTPUT.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(instances[0]))
        writer.writeheader()
        writer.writerows(instances)
    with_province = sum(1 for i in instances if i["province"])
    print(f"{len(instances)} instances written to {OUTPUT}; {with_province} with a province", file=sys.stderr)


if __name__ == "__main__":
    main()
