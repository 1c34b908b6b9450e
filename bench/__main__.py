"""Run the benchmarks and print their figures: `python -m bench [store|requests|matching|sender|soak]`."""

import sys

from bench import crawl_requests, matching, sender, soak, store_throughput

BENCHMARKS = {
    "store": store_throughput.main,
    "requests": crawl_requests.main,
    "matching": matching.main,
    "sender": sender.main,
    "soak": soak.main,
}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(BENCHMARKS):
        BENCHMARKS[name]()
