"""Run every benchmark and print its figures: `python -m bench [store|requests|matching|sender]`."""

import sys

from bench import crawl_requests, matching, sender, store_throughput

BENCHMARKS = {
    "store": store_throughput.main,
    "requests": crawl_requests.main,
    "matching": matching.main,
    "sender": sender.main,
}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(BENCHMARKS):
        BENCHMARKS[name]()
