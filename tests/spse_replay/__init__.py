"""A loopback SPSE replay server: recorded rows, synthetic detail pages, injectable faults."""

from tests.spse_replay.dataset import Dataset, Package
from tests.spse_replay.server import Fault, SpseReplayServer

__all__ = ["Dataset", "Fault", "Package", "SpseReplayServer"]
