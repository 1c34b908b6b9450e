"""The crawler's tables: LPSE instances and their health, packages, listings, stages, crawl state."""

from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    CompositeKey,
    FloatField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from lpse_crawler.store.database import AwareDateTimeField, BaseModel, JSONField, utcnow


class Instance(BaseModel):
    """One LPSE (a path under LPSE_BASE_URL) and its crawl health."""

    code = CharField(primary_key=True)  # the slug, e.g. 'kemkes'
    name = CharField()
    agencies = JSONField(default=list)  # instansi names served by this LPSE
    base_url = CharField(null=True)  # override; default LPSE_BASE_URL/{code}
    platform = CharField(default="spse4")
    province = CharField(null=True)
    timezone = CharField(default="Asia/Jakarta")
    active = BooleanField(default=True)
    spse_version = CharField(null=True)  # footer version, e.g. 4.5u20250321
    last_crawl_at = AwareDateTimeField(null=True)
    last_ok_at = AwareDateTimeField(null=True)
    last_error = TextField(null=True)
    last_error_at = AwareDateTimeField(null=True)
    consecutive_failures = IntegerField(default=0)
    last_new = IntegerField(default=0)
    last_updated = IntegerField(default=0)
    last_requests = IntegerField(default=0)


class Tender(BaseModel):
    """One package; unique (kind, kode) whatever slug it is listed under."""

    kind = CharField()  # 'tender' | 'nontender'
    kode = CharField()
    instance_first_seen = ForeignKeyField(Instance, column_name="instance_first_seen")
    nama = TextField()
    instansi = TextField()
    satker = TextField(null=True)
    kategori = CharField()
    tahun_anggaran = JSONField(default=list)
    metode = CharField()
    tahap = CharField()
    ulang = BooleanField(default=False)
    batal = BooleanField(default=False)
    gagal = BooleanField(default=False)
    labels = JSONField(default=list)
    hps = BigIntegerField(null=True)  # exact, rupiah
    hps_listing = BigIntegerField(null=True)  # rounded figure from the listing
    pagu = BigIntegerField(null=True)
    nilai_kontrak = BigIntegerField(null=True)
    sumber_dana = CharField(null=True)
    kualifikasi_usaha = CharField(null=True)  # 'Kecil' | 'Non Kecil' | NULL
    jenis_kontrak = CharField(null=True)
    kbli = JSONField(default=list)
    kbki = JSONField(default=list)
    lokasi = JSONField(default=list)
    tanggal_pembuatan = AwareDateTimeField(null=True)
    deadline = AwareDateTimeField(null=True)
    url = TextField()
    listing_hash = CharField()
    content_hash = CharField()
    first_seen_at = AwareDateTimeField(default=utcnow)
    last_seen_at = AwareDateTimeField(default=utcnow)
    # Set in the transaction that stores the package or a new listing of it; cleared in the
    # one that queues its notifications. A crash between the two leaves the mark, and the
    # next crawl matches the package first (see alerts.py). Its index holds only the marked
    # (a handful), so storing and unmarking a package touch a small tree.
    match_pending = BooleanField(default=False)
    jadwal = JSONField(default=list)  # the jadwal tab's rows: [tahap, mulai, sampai] as the site wrote them
    # What followers were last told of the package (people/follows.py); NULL: nobody follows it.
    told = JSONField(null=True)
    # Set in the transaction that stores a change of a package someone follows; cleared in the
    # one that queues what changed for its followers (as match_pending is for matching).
    follow_pending = BooleanField(default=False)
    # The result tabs as last read for followers (following/watching.py):
    # {"winners": [[nama, harga]], "contract": [[nama, nilai kontrak]]}; NULL: never read.
    hasil = JSONField(null=True)
    # When a followed package's pages are to be read again; NULL: not watched (nobody
    # follows it, or it has ended). Its index holds only the watched.
    watch_due_at = AwareDateTimeField(null=True)

    class Meta:
        indexes = ((("kind", "kode"), True),)


Tender.add_index(Tender.index(Tender.match_pending, where=Tender.match_pending))
Tender.add_index(Tender.index(Tender.follow_pending, where=Tender.follow_pending))
Tender.add_index(Tender.index(Tender.watch_due_at, where=Tender.watch_due_at.is_null(False)))


class TenderListing(BaseModel):
    """A package seen in one instance's listing (one package can be on several)."""

    tender = ForeignKeyField(Tender, backref="listings", on_delete="CASCADE", index=False)  # key leads
    instance = ForeignKeyField(Instance, column_name="instance")
    first_seen_at = AwareDateTimeField(default=utcnow)

    class Meta:
        primary_key = CompositeKey("tender", "instance")


class TenderStage(BaseModel):
    """Each stage a package was seen in, in order: its stage history."""

    tender = ForeignKeyField(Tender, backref="stages", on_delete="CASCADE")
    tahap = CharField()
    seen_at = AwareDateTimeField(default=utcnow)


class PendingDetail(BaseModel):
    """A listing row whose detail pages are still to fetch: queued when its listing page is
    read, deleted in the transaction that stores the package, retried until then."""

    instance = ForeignKeyField(Instance, column_name="instance", index=False)  # the unique key leads
    kind = CharField()
    kode = CharField()
    row = JSONField()  # the raw listing cells
    attempts = IntegerField(default=0)  # failed fetches so far
    last_error = TextField(default="")

    class Meta:
        indexes = ((("instance", "kind", "kode"), True),)


class SpseSession(BaseModel):
    """Token and cookies of one (instance, kind) listing session, reused until refused."""

    instance = ForeignKeyField(Instance, column_name="instance")
    kind = CharField()
    token = CharField()
    cookies = JSONField(default=dict)

    class Meta:
        primary_key = CompositeKey("instance", "kind")


class ListingProgress(BaseModel):
    """How far one listing (instance, kind, fiscal year) is known stored; see coverage.py."""

    instance = ForeignKeyField(Instance, column_name="instance", on_delete="CASCADE")
    kind = CharField()
    year = IntegerField()
    ceiling = CharField(null=True)  # read to its end once: every row up to this code is stored
    runs = JSONField(default=list)  # unfinished reads: [top, low, top_at, low_at], codes as text
    version = IntegerField(default=0)  # bumped by every write: compare-and-set

    class Meta:
        primary_key = CompositeKey("instance", "kind", "year")


class ListingSchedule(BaseModel):
    """When one listing (instance, kind, fiscal year) is checked next, and what its checks
    have taught of its publishing (lpse_crawler/scheduling/policy.py)."""

    instance = ForeignKeyField(Instance, column_name="instance", on_delete="CASCADE")
    kind = CharField()
    year = IntegerField()
    found = FloatField(default=0.0)  # new packages found, decayed
    hours = FloatField(default=0.0)  # hours observed, decayed
    shape = JSONField(default=list)  # packages by local hour of the week (168), decayed
    last_checked_at = AwareDateTimeField(null=True)
    due_at = AwareDateTimeField(index=True)
    target = FloatField(default=0.0)  # expected new packages the planned wait is for
    failures = IntegerField(default=0)  # failed checks in a row
    checks = IntegerField(default=0)  # checks so far

    class Meta:
        primary_key = CompositeKey("instance", "kind", "year")


class InstanceLease(BaseModel):
    """Which crawl process holds an instance until when (see store/leases.py)."""

    instance = ForeignKeyField(Instance, column_name="instance", primary_key=True, on_delete="CASCADE")
    owner = CharField()  # '' when free
    expires_at = AwareDateTimeField()


class HostBudget(BaseModel):
    """The next request slot of one host, shared by every crawl process (store/politeness.py)."""

    host = CharField(primary_key=True)
    next_at = AwareDateTimeField()
    paused_until = AwareDateTimeField()


class InstanceCycle(BaseModel):
    """One crawl cycle's outcome for one instance: its health history (see save_health)."""

    instance = ForeignKeyField(Instance, column_name="instance", on_delete="CASCADE")
    crawled_at = AwareDateTimeField(default=utcnow)
    ok = BooleanField()
    new = IntegerField(default=0)
    updated = IntegerField(default=0)
    requests = IntegerField(default=0)
    error = TextField(null=True)  # the cycle's errors, truncated


CRAWLER_MODELS = [
    Instance,
    Tender,
    TenderListing,
    TenderStage,
    PendingDetail,
    SpseSession,
    ListingProgress,
    InstanceLease,
    HostBudget,
    InstanceCycle,
    ListingSchedule,
]
