"""The paging rules of a resumable listing read: no row is ever left unread for good, however
reads are cut short, and a quiet cycle costs one page."""

from hypothesis import given, settings
from hypothesis import strategies as st

from lpse_crawler.spse.coverage import Coverage, Outcome, Walk

PAGE = 5


def read_cycle(
    listing: list[int],
    stored: Coverage,
    seen: set[int],
    max_pages: int = 50,
    cut_after: int | None = None,
    churn=None,
) -> tuple[Coverage, Outcome | None, int]:
    """One cycle over `listing` (newest first); stops after `cut_after` pages like a killed
    crawl. Returns the coverage that would be stored, the last outcome and the pages read."""
    walk = Walk(stored, PAGE, max_pages)
    kept, offset, pages = stored, 0, 0
    while True:
        if cut_after is not None and pages >= cut_after:
            return kept, None, pages
        if churn:
            churn(listing, pages)
        page = listing[offset : offset + PAGE]
        pages += 1
        step = walk.read(offset, page)
        seen.update(page)  # queued for details in the same transaction as the coverage
        if step.changed:
            kept = step.coverage
        if step.outcome is not Outcome.MORE:
            return kept, step.outcome, pages
        offset = step.next_offset


def test_a_quiet_complete_listing_costs_one_page():
    listing = list(range(100, 0, -1))
    seen: set[int] = set()
    stored, outcome, _ = read_cycle(listing, Coverage(), seen)
    assert outcome is Outcome.DONE and stored.ceiling == 100 and seen == set(listing)
    assert read_cycle(listing, stored, seen)[1:] == (Outcome.DONE, 1)


def test_new_rows_are_read_then_paging_stops_at_the_ceiling():
    listing = list(range(100, 0, -1))
    stored, _, _ = read_cycle(listing, Coverage(), set())
    listing[:0] = list(range(112, 100, -1))
    seen: set[int] = set()
    stored, outcome, pages = read_cycle(listing, stored, seen)
    assert outcome is Outcome.DONE and stored.ceiling == 112
    assert set(range(101, 113)) <= seen and pages == 3


def test_an_interrupted_read_resumes_where_it_stopped_not_from_the_top():
    listing = list(range(1000, 0, -1))
    seen: set[int] = set()
    stored, _, _ = read_cycle(listing, Coverage(), seen, max_pages=1000, cut_after=30)
    assert stored.runs and not stored.complete
    listing[:0] = [1002, 1001]
    stored, outcome, pages = read_cycle(listing, stored, seen, max_pages=1000)
    assert outcome is Outcome.DONE and seen >= set(listing)
    assert pages < 250 - 30 + 5  # jumped over the 30 pages read before


def test_a_page_cap_spreads_a_long_listing_over_cycles():
    listing = list(range(500, 0, -1))
    seen: set[int] = set()
    stored, outcome, _ = read_cycle(listing, Coverage(), seen, max_pages=10)
    assert outcome is Outcome.CAPPED
    cycles = 1
    while outcome is not Outcome.DONE:
        stored, outcome, _ = read_cycle(listing, stored, seen, max_pages=10)
        cycles += 1
    assert seen == set(listing) and cycles <= 14


def test_a_site_that_ignores_start_is_stopped():
    first = list(range(100, 95, -1))
    walk = Walk(Coverage(), PAGE, 1000)
    outcomes = [walk.read(offset, first).outcome for offset in (0, 4, 8, 12)]
    assert Outcome.IGNORES_PAGING in outcomes[:3]


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(0, 60),
    cuts=st.lists(st.integers(0, 12), min_size=0, max_size=8),
    added=st.lists(st.integers(0, 7), min_size=8, max_size=8),
    removed=st.lists(st.integers(0, 200), min_size=8, max_size=8),
    cap=st.integers(2, 30),
)
def test_no_listed_row_is_left_unread_however_reads_are_cut(size, cuts, added, removed, cap):
    listing = list(range(size * 10, 0, -10))
    next_code = size * 10 + 1
    seen: set[int] = set()
    stored = Coverage()
    for n, cut in enumerate([*cuts, None, None, None, None]):
        k = n % 8
        listing[:0] = list(range(next_code + added[k] - 1, next_code - 1, -1))
        next_code += added[k]
        if listing and removed[k] < len(listing) and removed[k] % 3 == 0:
            del listing[removed[k]]  # a package withdrawn from the listing

        def churn(rows, pages, k=k):
            if pages == 2 and rows and removed[k] % 5 == 1:  # a row vanishes mid-read
                del rows[min(removed[k], len(rows) - 1)]

        stored, _, _ = read_cycle(listing, stored, seen, max_pages=cap, cut_after=cut, churn=churn)
    for _ in range(60):  # uninterrupted cycles finish every listing
        stored, outcome, _ = read_cycle(listing, stored, seen, max_pages=cap)
        if outcome is Outcome.DONE:
            break
    assert outcome is Outcome.DONE
    assert set(listing) <= seen
