"""Print the benchmarks' figures: `python -m bench [store|requests|matching|sender|soak|parsers]`."""

import sys

from bench import crawl_requests, matching, parsers, sender, soak, store_throughput

BENCHMARKS = {
    "store": store_throughput.main,
    "requests": crawl_requests.main,
    "matching": matching.main,
    "sender": sender.main,
    "soak": soak.main,
    "parsers": parsers.main,
}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(BENCHMARKS):
        BENCHMARKS[name]()
