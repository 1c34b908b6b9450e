"""Saving subscribers' filters within their plan, and loading all of them for matching."""

from collections import defaultdict

from lpse_crawler.matching.filters import FilterError, FilterSpec, parse_filter
from lpse_crawler.matching.index import CompiledFilter, FilterIndex
from lpse_crawler.matching.textmatch import words
from lpse_crawler.people.delivery import delivery_of
from lpse_crawler.people.models import Filter, Subscriber, SubscriberStatus
from lpse_crawler.people.plans import PLANS, Plan, check_filter_limits, plan_of
from lpse_crawler.store.database import utcnow, write_transaction
from lpse_crawler.store.models import Instance

# Whose filters are matched: all but the deleted (a paused or blocked subscriber's matches wait).
MATCHED = (SubscriberStatus.ACTIVE, SubscriberStatus.PAUSED, SubscriberStatus.BLOCKED)


class InstanceGeography:
    """Instance codes and provinces as the filter language needs them."""

    def __init__(self):
        rows = list(Instance.select(Instance.code, Instance.province, Instance.active))
        self.codes = {r.code for r in rows}
        self.active_count = sum(1 for r in rows if r.active)  # what a filter naming no LPSE covers
        self.province_of = {r.code: r.province for r in rows if r.province}
        self.by_province: dict[str, set[str]] = defaultdict(set)
        for code, province in self.province_of.items():
            self.by_province[province].add(code)
        self.province_names = {" ".join(words(p)): p for p in self.by_province}

    def parse(self, text: str) -> FilterSpec:
        return parse_filter(text, self.codes, self.province_names)

    def instance_count(self, spec: FilterSpec) -> int:
        """The LPSE a filter covers: those it names, its provinces' and, naming neither
        (nationwide), every active one."""
        if not spec.instances and not spec.provinces:
            return self.active_count
        return len(spec.instances | {c for p in spec.provinces for c in self.by_province.get(p, ())})

    def fits(self, plan: Plan, spec: FilterSpec) -> bool:
        """Whether one filter keeps within `plan`'s LPSE and keyword limits."""
        within = self.instance_count(spec) <= plan.max_instances
        return within and spec.keyword_count <= plan.max_keywords


def save_filter(
    subscriber: Subscriber, name: str, text: str, geography: InstanceGeography | None = None
) -> Filter:
    """Check and save a filter; FilterError or PlanLimitError say what is wrong (Indonesian)."""
    geography = geography or InstanceGeography()
    spec = geography.parse(text)
    name = " ".join(name.split())[:60]
    if not name:
        raise FilterError("Beri nama filter, mis. 'Jembatan Jatim'.")
    with write_transaction():
        plan = plan_of(subscriber, utcnow())
        active = Filter.select().where(Filter.subscriber == subscriber, Filter.active == True).count()  # noqa: E712
        check_filter_limits(plan, active + 1, geography.instance_count(spec), spec.keyword_count)
        return Filter.create(subscriber=subscriber, name=name, spec=text.strip())


def load_index(geography: InstanceGeography | None = None) -> tuple[FilterIndex, InstanceGeography]:
    """Every active filter of every subscriber but the deleted, compiled: matches for a
    paused or blocked subscriber are queued and kept (the outbox sends only to the active;
    /lanjut or coming back summarises them).

    A subscriber whose paid plan or trial expired keeps all filters, but only the oldest
    ones the free plan allows, and within its LPSE and keyword limits, are matched
    (people/reminders.py names them when the plan ends). A filter whose text no longer parses (say, an
    instance was removed) is left out, never guessed at.
    """
    geography = geography or InstanceGeography()
    now = utcnow()
    query = (
        Filter.select(
            Filter.id,
            Filter.name,
            Filter.spec,
            Filter.created_at,
            Filter.digest_hour,
            Subscriber.id,
            Subscriber.plan,
            Subscriber.plan_expires_at,
            Subscriber.trial_until,
            Subscriber.timezone,
            Subscriber.quiet_start,
            Subscriber.quiet_end,
        )
        .join(Subscriber)
        .where(Filter.active == True, Subscriber.status.in_(MATCHED))  # noqa: E712
        .order_by(Filter.id)
    )
    compiled, used = [], defaultdict(int)
    for row in query:
        owner = row.subscriber
        plan = plan_of(owner, now)
        if used[owner.id] >= plan.max_filters:
            continue
        try:
            spec = geography.parse(row.spec)
        except FilterError:
            continue
        if plan is PLANS["free"] and not geography.fits(plan, spec):
            continue  # on the free plan (or after a plan ended) only filters within its limits
        delivery = delivery_of(plan, owner.timezone, row.digest_hour, (owner.quiet_start, owner.quiet_end))
        compiled.append(CompiledFilter(row.id, owner.id, row.name, spec, row.created_at, delivery))
        used[owner.id] += 1
    return FilterIndex(compiled, geography.by_province), geography
