"""How far a listing is known stored, and where its next page is: pure paging rules.

A listing (one instance, kind and fiscal year) is read newest code first, a page at a time,
and each page overlaps the previous one by a row, so a row removed between two requests
shows up as a gap instead of a silent skip. Two facts survive between cycles:

- the **ceiling**: the listing was once read down to its end, so every row up to this code
  is stored (a row counts as stored once it is queued durably for its details);
- **runs** `[low, top]`: reads that stopped early (a kill, a failed page, the page cap),
  each with where its top and its low stood in the listing then. A later read that reaches
  a run's top jumps to where that run stopped, shifted by the rows added since.

Paging stops at known rows only when everything below them is covered: when the read
reaches the ceiling, or the end of the listing.
"""

from dataclasses import dataclass, field
from enum import StrEnum

MAX_STEP_BACKS = 20  # pages read again in one cycle to close gaps, before giving up for this cycle
MAX_IDLE_PAGES = 2  # full pages in a row that bring no older row: the site ignores `start`
MAX_RUNS = 16  # unfinished runs remembered; past that the lowest is forgotten (read again later)


@dataclass(frozen=True)
class Run:
    """Rows `low..top` are stored; when read, `top` stood at offset `top_at`, `low` at `low_at`."""

    top: int
    low: int
    top_at: int
    low_at: int


@dataclass(frozen=True)
class Coverage:
    """What is stored of one listing, as kept in `listing_progress`."""

    ceiling: int | None = None
    runs: tuple[Run, ...] = ()  # newest first, disjoint, all above the ceiling
    version: int = 0  # bumped by every change (compare-and-set against concurrent writers)

    @property
    def complete(self) -> bool:
        return self.ceiling is not None and not self.runs


class Outcome(StrEnum):
    MORE = "more"  # read `next_offset`
    DONE = "done"  # the listing is covered down to its end or its ceiling
    CAPPED = "capped"  # page cap reached; the next cycle resumes
    IGNORES_PAGING = "ignores_paging"  # pages repeat instead of going older
    SHIFTING = "shifting"  # rows keep vanishing under the read; the next cycle resumes


@dataclass(frozen=True)
class Step:
    """The result of reading one page: what to keep (when `changed`), what to read next."""

    coverage: Coverage
    changed: bool
    outcome: Outcome
    next_offset: int | None = None


@dataclass
class Walk:
    """One cycle's read of one listing, from offset 0 down."""

    coverage: Coverage  # as stored when the read began, updated by every step
    page_size: int
    max_pages: int
    top: int | None = None  # newest code read this cycle
    low: int | None = None  # oldest code of this cycle's contiguous run
    below: list[Run] = field(default_factory=list)  # stored runs not reached yet
    checking_jump: bool = False  # jumped below a stored run; the next page must overlap it
    fallback: tuple[int, int] = (0, 0)  # (offset, low) where this cycle's own run stopped
    pages: int = 0
    step_backs: int = 0
    idle_pages: int = 0

    def __post_init__(self) -> None:
        self.below = list(self.coverage.runs)

    def read(self, offset: int, codes: list[int]) -> Step:
        """Account for the page at `offset` (codes as listed, newest first)."""
        self.pages += 1
        if offset and (not codes or codes[0] < self.low):
            return self._gap(offset)  # the row this page should overlap with is gone
        self.checking_jump = False
        if codes and self.top is None:
            self.top = codes[0]
        if len(codes) < self.page_size:
            return self._finish()  # the end of the listing
        if self.low is not None and codes[-1] >= self.low:
            self.idle_pages += 1  # nothing older than before: rows pushed in, or `start` ignored
            if self.idle_pages >= MAX_IDLE_PAGES:
                return Step(self.coverage, False, Outcome.IGNORES_PAGING)
            return self._next(offset + len(codes) - 1)
        self.idle_pages = 0
        self.low = codes[-1]
        while self.below and self.below[0].low >= self.low:
            self.below.pop(0)  # this run read a stored run whole
        ceiling = self.coverage.ceiling
        if ceiling is not None and self.low <= ceiling:
            return self._finish()
        if self.below and self.low <= self.below[0].top:
            return self._join(offset, codes, self.below.pop(0))
        return self._advance(offset + len(codes) - 1)

    # -- transitions ------------------------------------------------------------------------

    def _join(self, offset: int, codes: list[int], run: Run) -> Step:
        """The read reached a stored run: jump below it, to where it stopped."""
        sequential = offset + len(codes) - 1
        now_at = offset + next(i for i, code in enumerate(codes) if code <= run.top)
        target = run.low_at + (now_at - run.top_at)
        if target <= sequential:
            return self._advance(sequential)
        # Both runs are stored, so their union is kept at once; the jump is checked by the
        # overlap of the page read there, with a way back if rows vanished in between.
        self.fallback = (sequential, self.low)
        self.low, self.checking_jump = run.low, True
        return self._advance(target)

    def _gap(self, offset: int) -> Step:
        """Rows vanished under the read. After a jump, read on from where this cycle's own
        run stopped (the skipped rows are stored; reading them again only costs pages);
        otherwise read the previous page again to find the overlap row."""
        if self.checking_jump:
            self.checking_jump = False
            next_offset, self.low = self.fallback
            return self._advance(next_offset)
        self.step_backs += 1
        if self.step_backs > MAX_STEP_BACKS:
            return Step(self.coverage, False, Outcome.SHIFTING)
        return self._next(max(0, offset - self.page_size + 1))

    def _advance(self, next_offset: int) -> Step:
        """Keep this cycle's run (top at offset 0) above the stored runs it has not reached."""
        own = Run(top=self.top, low=self.low, top_at=0, low_at=next_offset)
        runs = (own, *self.below)[:MAX_RUNS]
        self.coverage = Coverage(self.coverage.ceiling, runs, self.coverage.version + 1)
        return self._next(next_offset, changed=True)

    def _next(self, next_offset: int, changed: bool = False) -> Step:
        if self.pages >= self.max_pages:
            return Step(self.coverage, changed, Outcome.CAPPED)
        return Step(self.coverage, changed, Outcome.MORE, next_offset)

    def _finish(self) -> Step:
        """Everything from this read's top down is stored: the top is the new ceiling."""
        cov = self.coverage
        self.coverage = Coverage(max(self.top or 0, cov.ceiling or 0), (), cov.version + 1)
        return Step(self.coverage, True, Outcome.DONE)
