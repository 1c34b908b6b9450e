"""When a followed package's pages are read again, and which of them: pure functions.

A followed package is watched: its announcement (current stage, badges) and jadwal are read
again, and from the award on its winner tab, from the contract stage on its contract tab.
Changes on those pages often show in no listing row (a moved date) or only on a page the
incremental crawl stops before, so listings alone would miss them.

The wait to the next read is a third of the time to the package's next date (a stage's
start or end), between WATCH_MIN and WATCH_MAX: a package whose bids close in 30 days is
read every 12 hours, in its last 3 hours every hour, and a date is seen at most
WATCH_MIN after it passed. Watching ends when the package is cancelled or failed, its
contract's value is read, or its last date is WATCH_AFTER_END behind.
"""

from datetime import datetime, timedelta

from lpse_crawler.following.changes import Moment, stored_schedule
from lpse_crawler.spse.stages import AWARDED_STAGES, CONTRACT_STAGES

WATCH_MIN = timedelta(minutes=30)
WATCH_MAX = timedelta(hours=12)
WATCH_SHARE = 3  # the wait is this fraction of the time to the next date
WATCH_AFTER_END = timedelta(days=60)  # no result tab after this long: watching stops
# In a jadwal stage's name ("Penetapan Pemenang" comes before the winner is announced).
WINNER_ROW, CONTRACT_ROW = "pengumuman pemenang", "penandatanganan kontrak"
Schedule = tuple[tuple[str, Moment, Moment], ...]  # as changes.schedule_of makes it


def next_watch(
    schedule: Schedule, now: datetime, ended: bool, contracted: bool, since: datetime | None = None
) -> datetime | None:
    """When to read the package again; None: watching it is over. `since`: when the package
    was first seen, the date watching ends by when none of the jadwal's dates parse."""
    if ended or contracted:
        return None
    dates = [m for _, start, end in schedule for m in (start, end) if isinstance(m, datetime)]
    last = max(dates) if dates else since
    if last is not None and last < now - WATCH_AFTER_END:
        return None
    upcoming = [m for m in dates if m > now]
    if not upcoming:
        return now + WATCH_MAX
    return now + min(WATCH_MAX, max(WATCH_MIN, (min(upcoming) - now) / WATCH_SHARE))


def contracted(contract: list | None) -> bool:
    """Whether a contract tab read ([[nama, nilai kontrak]]) names a contract's value: until
    then its nilai may still be published, and the package stays watched."""
    return any(amount for _, amount in contract or [])


def next_read(
    jadwal: list[list[str]], zone: str, ended: bool, hasil: dict | None, first_seen_at, now: datetime
) -> datetime | None:
    """When a package as stored (its jadwal rows and result tabs) is next read; None: not."""
    done = contracted((hasil or {}).get("contract"))
    return next_watch(stored_schedule(jadwal or [], zone), now, ended, done, first_seen_at)


def result_tabs(stage: str, schedule: Schedule, now: datetime) -> tuple[str, ...]:
    """The result tabs worth a request now: `winners` once the award is announced (by the
    current stage, or a started jadwal row that names the winner), `contracts` once the
    contract stage has started as well."""
    awarded = stage in AWARDED_STAGES or _started(schedule, WINNER_ROW, now)
    if not awarded:
        return ()
    if stage in CONTRACT_STAGES or _started(schedule, CONTRACT_ROW, now):
        return ("winners", "contracts")
    return ("winners",)


def requests_of(tabs: tuple[str, ...]) -> int:
    """Requests one watch costs: the announcement, the jadwal and each result tab."""
    return 2 + len(tabs)


def _started(schedule: Schedule, words: str, now: datetime) -> bool:
    return any(
        words in stage.casefold() and isinstance(start, datetime) and start <= now
        for stage, start, _ in schedule
    )
