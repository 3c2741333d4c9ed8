"""A synthetic Debezium change stream of the Chinook store, as the connector really writes it.

JSON with `schemas.enable=false`, `decimal.handling.mode=string`, adaptive time precision and
REPLICA IDENTITY FULL (whole before images), deletes followed by tombstones — the settings of
`infra/connect/chinook-postgres.json` — built with `tests.support.envelopes.MessageBuilder`.

Order: the reference rows first (snapshot `r` of genres, artists, albums, tracks, customers,
users), then store actions in the simulator's proportions (ops/simulator.py ACTION_WEIGHTS),
each one transaction: new invoices with 1..9 lines, quantity changes, removed lines, invoices
moved to another day, deleted invoices, renamed customers, users touched and created. Invoice
dates advance over the last `span_hours` hours, so the sales-per-hour answer has many windows.

`expected_hourly()` is the exact answer of the aggregation every contender computes: the sum of
invoice totals (cents) per UTC hour of invoice_date, over the invoices alive at the end.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ops.simulator import ACTION_WEIGHTS  # the bench's mix is the simulator's
from tests.support.envelopes import MessageBuilder

LINES_PER_INVOICE = (1, 1, 2, 2, 3, 4, 6, 9)
CDC_TABLES = ("invoice", "invoice_line", "users", "customer", "track", "album", "artist", "genre")
N_CUSTOMERS, N_TRACKS, N_ALBUMS, N_ARTISTS, N_GENRES, N_USERS = 59, 3503, 347, 275, 25, 12
COUNTRIES = ("USA", "Canada", "Brazil", "France", "Germany", "United Kingdom", "Chile", "India", "Portugal")


@dataclass
class Record:
    table: str
    key: bytes
    value: bytes | None
    ts_ms: int


@dataclass
class _Invoice:
    row: dict[str, object]
    lines: dict[int, dict[str, object]] = field(default_factory=dict)


class Workload:
    def __init__(self, prefix: str, seed: int = 7, span_hours: int = 72, now: datetime | None = None) -> None:
        self.builder = MessageBuilder(schemas_enable=False, decimal_mode="string", topic_prefix=prefix)
        self.rng = random.Random(seed)
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.start = self.now - timedelta(hours=span_hours)
        self.span = timedelta(hours=span_hours)
        self.records: list[Record] = []
        self.lsn = 30_000_000
        self.tx = 9_000
        self.ts_ms = int(self.start.timestamp() * 1000)
        self.invoices: dict[int, _Invoice] = {}
        self.recent: list[int] = []
        self.customers: dict[int, dict[str, object]] = {}
        self.prices: dict[int, Decimal] = {}
        self.users: dict[int, dict[str, object]] = {}
        self.next_invoice = 1_000_000
        self.next_line = 5_000_000

    def topic(self, table: str) -> str:
        return self.builder.topic(table)

    # -- emitting ---------------------------------------------------------------------------
    def _tx(self) -> int:
        self.tx += 1
        self.lsn += 512
        self.ts_ms += self.rng.randint(1, 40)
        return self.lsn - 8

    def _emit(self, table: str, op: str, before: dict | None, after: dict | None, commit_lsn: int, snap: str) -> None:
        self.lsn += 64
        key, value = self.builder.change(
            table,
            op,
            before,
            after,
            lsn=self.lsn,
            commit_lsn=commit_lsn,
            tx_id=self.tx,
            ts_ms=self.ts_ms,
            snapshot=snap,
        )
        if table == "invoice_line":  # keyed by its invoice, as the connector's message.key.columns does
            invoice_id = (after or before or {})["invoice_id"]
            key = b'{"invoice_id":%d}' % invoice_id
        self.records.append(Record(table, key, value, self.ts_ms + 150))
        if op == "d":
            self.records.append(Record(table, key, None, self.ts_ms + 150))  # tombstones.on.delete=true

    # -- reference data first ---------------------------------------------------------------
    def reference(self) -> None:
        commit = self._tx()
        when = self.start - timedelta(days=400)
        for g in range(1, N_GENRES + 1):
            self._emit("genre", "r", None, {"genre_id": g, "name": f"Genre {g}"}, commit, "true")
        for a in range(1, N_ARTISTS + 1):
            self._emit("artist", "r", None, {"artist_id": a, "name": f"Artist {a}"}, commit, "true")
        for a in range(1, N_ALBUMS + 1):
            row = {"album_id": a, "title": f"Album {a}", "artist_id": 1 + a % N_ARTISTS}
            self._emit("album", "r", None, row, commit, "true")
        for t in range(1, N_TRACKS + 1):
            price = Decimal("0.99") if t % 7 else Decimal("1.99")
            self.prices[t] = price
            row = {
                "track_id": t,
                "name": f"Track {t}",
                "album_id": 1 + t % N_ALBUMS,
                "media_type_id": 1,
                "genre_id": 1 + t % N_GENRES,
                "composer": None,
                "milliseconds": 200_000 + t,
                "bytes": 6_000_000 + t,
                "unit_price": price,
            }
            self._emit("track", "r", None, row, commit, "true")
        for c in range(1, N_CUSTOMERS + 1):
            row = {
                "customer_id": c,
                "first_name": f"First{c}",
                "last_name": f"Last{c}",
                "company": None,
                "address": f"{c} Main St",
                "city": "Town",
                "state": None,
                "country": COUNTRIES[c % len(COUNTRIES)],
                "postal_code": "1000",
                "phone": None,
                "fax": None,
                "email": f"c{c}@example.test",
                "support_rep_id": 3,
            }
            self.customers[c] = row
            self._emit("customer", "r", None, row, commit, "true")
        for u in range(1, N_USERS + 1):
            row = {
                "id": u,
                "name": f"User {u}",
                "email": f"u{u}@chinook.test",
                "role": "viewer",
                "last_activity": None,
                "created_at": when,
            }
            self.users[u] = row
            self._emit("users", "r", None, row, commit, "last" if u == N_USERS else "true")

    # -- store actions ------------------------------------------------------------------------
    def _total(self, inv: _Invoice) -> Decimal:
        return sum((Decimal(str(line["unit_price"])) * int(line["quantity"]) for line in inv.lines.values()),
                   Decimal("0.00"))  # fmt: skip

    def _pick_recent(self) -> _Invoice | None:
        while self.recent:
            iid = self.rng.choice(self.recent[-50:])
            if iid in self.invoices:
                return self.invoices[iid]
            self.recent.remove(iid)
        return None

    def _set_total(self, inv: _Invoice, commit: int) -> None:
        before = dict(inv.row)
        inv.row["total"] = self._total(inv)
        self._emit("invoice", "u", before, dict(inv.row), commit, "false")

    def new_invoice(self, progress: float) -> None:
        commit = self._tx()
        cid = self.rng.randint(1, N_CUSTOMERS)
        cust = self.customers[cid]
        when = self.start + self.span * progress + timedelta(seconds=self.rng.randint(0, 59))
        iid = self.next_invoice
        self.next_invoice += 1
        inv = _Invoice({
            "invoice_id": iid, "customer_id": cid, "invoice_date": when, "billing_address": cust["address"],
            "billing_city": cust["city"], "billing_state": None, "billing_country": cust["country"],
            "billing_postal_code": cust["postal_code"], "total": Decimal("0.00"),
        })  # fmt: skip
        for track_id in self.rng.sample(range(1, N_TRACKS + 1), k=self.rng.choice(LINES_PER_INVOICE)):
            self.next_line += 1
            inv.lines[self.next_line] = {
                "invoice_line_id": self.next_line, "invoice_id": iid, "track_id": track_id,
                "unit_price": self.prices[track_id], "quantity": self.rng.choice((1, 1, 1, 1, 2, 3)),
            }  # fmt: skip
        inv.row["total"] = self._total(inv)
        self.invoices[iid] = inv
        self.recent.append(iid)
        self._emit("invoice", "c", None, dict(inv.row), commit, "false")
        for line in inv.lines.values():
            self._emit("invoice_line", "c", None, dict(line), commit, "false")

    def change_quantity(self, progress: float) -> None:
        inv = self._pick_recent()
        if inv is None or not inv.lines:
            return self.new_invoice(progress)
        commit = self._tx()
        lid = self.rng.choice(list(inv.lines))
        before = dict(inv.lines[lid])
        inv.lines[lid]["quantity"] = self.rng.choice([q for q in (1, 2, 3, 4) if q != before["quantity"]])
        self._emit("invoice_line", "u", before, dict(inv.lines[lid]), commit, "false")
        self._set_total(inv, commit)

    def remove_line(self, progress: float) -> None:
        inv = self._pick_recent()
        if inv is None or not inv.lines:
            return self.new_invoice(progress)
        commit = self._tx()
        lid = self.rng.choice(list(inv.lines))
        self._emit("invoice_line", "d", inv.lines.pop(lid), None, commit, "false")
        self._set_total(inv, commit)

    def move_invoice(self, progress: float) -> None:
        inv = self._pick_recent()
        if inv is None:
            return self.new_invoice(progress)
        commit = self._tx()
        before = dict(inv.row)
        shift = timedelta(days=self.rng.choice((-2, -1, 1)), minutes=self.rng.randint(-90, 90))
        inv.row["invoice_date"] = before["invoice_date"] + shift  # type: ignore[operator]
        self._emit("invoice", "u", before, dict(inv.row), commit, "false")

    def delete_invoice(self, progress: float) -> None:
        inv = self._pick_recent()
        if inv is None:
            return self.new_invoice(progress)
        commit = self._tx()
        for line in inv.lines.values():
            self._emit("invoice_line", "d", line, None, commit, "false")
        self._emit("invoice", "d", inv.row, None, commit, "false")
        del self.invoices[int(inv.row["invoice_id"])]  # type: ignore[call-overload]

    def rename_customer(self, progress: float) -> None:
        commit = self._tx()
        cid = self.rng.randint(1, N_CUSTOMERS)
        before = dict(self.customers[cid])
        self.customers[cid]["last_name"] = f"Last{cid}{self.rng.choice(('', ' Jr.', '-Smith'))}"
        self._emit("customer", "u", before, dict(self.customers[cid]), commit, "false")

    def touch_users(self, progress: float) -> None:
        commit = self._tx()
        when = datetime.fromtimestamp(self.ts_ms / 1000, UTC)
        for uid in self.rng.sample(list(self.users), k=min(len(self.users), self.rng.randint(1, 3))):
            before = dict(self.users[uid])
            self.users[uid]["last_activity"] = when
            self._emit("users", "u", before, dict(self.users[uid]), commit, "false")

    def new_user(self, progress: float) -> None:
        commit = self._tx()
        uid = max(self.users) + 1
        row = {
            "id": uid, "name": f"Shopper {uid}", "email": f"s{uid}@chinook.test", "role": "viewer",
            "last_activity": None, "created_at": datetime.fromtimestamp(self.ts_ms / 1000, UTC),
        }  # fmt: skip
        self.users[uid] = row
        self._emit("users", "c", None, row, commit, "false")

    def build(self, events: int) -> list[Record]:
        """Reference rows, then actions until about `events` change records (tombstones included)."""
        self.reference()
        names = list(ACTION_WEIGHTS)
        weights = [ACTION_WEIGHTS[n] for n in names]
        while len(self.records) < events:
            action = self.rng.choices(names, weights=weights)[0]
            getattr(self, action)(min(1.0, len(self.records) / events))
        return self.records

    def expected_hourly(self) -> dict[int, int]:
        """{epoch hour: cents} of the invoices alive at the end."""
        out: dict[int, int] = {}
        for inv in self.invoices.values():
            when: datetime = inv.row["invoice_date"]  # type: ignore[assignment]
            hour = int(when.timestamp()) // 3600
            out[hour] = out.get(hour, 0) + int(Decimal(str(inv.row["total"])) * 100)
        return {h: c for h, c in sorted(out.items()) if c}


async def produce(bootstrap: str, records: list[Record], topic_of: dict[str, str]) -> float:
    """Write every record (keyed, as Connect would: murmur2 partitioner); seconds taken."""
    import asyncio
    import time

    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=256 * 1024, acks=1, compression_type=None
    )
    await asyncio.wait_for(producer.start(), 30)
    began = time.monotonic()
    try:
        pending = []
        for r in records:
            pending.append(await producer.send(topic_of[r.table], r.value, key=r.key, timestamp_ms=r.ts_ms))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        await producer.flush()
    finally:
        await producer.stop()
    return time.monotonic() - began
