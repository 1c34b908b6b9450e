"""Print the benchmarks' figures.

`python -m bench [store|requests|watching|freshness|matching|sender|soak|parsers]` (default: all;
`requests` ends with `watching`, which runs alone too).
"""

import sys

from bench import crawl_requests, freshness, matching, parsers, sender, soak, store_throughput, watch_requests

BENCHMARKS = {
    "store": store_throughput.main,
    "requests": crawl_requests.main,
    "watching": watch_requests.main,
    "freshness": freshness.main,
    "matching": matching.main,
    "sender": sender.main,
    "soak": soak.main,
    "parsers": parsers.main,
}

if __name__ == "__main__":
    for name in sys.argv[1:] or [name for name in BENCHMARKS if name != "watching"]:
        BENCHMARKS[name]()
