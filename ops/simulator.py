"""Realistic store traffic written to PostgreSQL through SQLAlchemy.

Each *action* is one committed transaction: a new invoice with its lines (the common case), a
correction (a line's quantity changed, a line removed, an invoice moved to an earlier day), a
deletion, a customer renamed, or app users' `last_activity` touched. Invoice totals always equal
the sum of their lines. With a seed and the same starting database the sequence is deterministic.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tables.models import customer, invoice, invoice_line, track, users

log = logging.getLogger(__name__)

#: Relative weights of the actions (SIMULATOR_MIX changes any of them).
ACTION_WEIGHTS: dict[str, int] = {
    "new_invoice": 60,
    "touch_users": 20,
    "change_quantity": 5,
    "remove_line": 4,
    "move_invoice": 4,
    "delete_invoice": 3,
    "rename_customer": 2,
    "new_user": 2,
}


def parse_mix(text: str) -> dict[str, int]:
    """The action weights with `text` ("new_invoice=80,delete_invoice=0", may be empty) applied to
    the defaults; a clear ValueError for an unknown action, a bad weight, or nothing left to do."""
    weights = dict(ACTION_WEIGHTS)
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in weights:
            raise ValueError(f"simulator mix: {item!r} is not action=weight with an action of {', '.join(weights)}")
        try:
            weight = int(value)
        except ValueError:
            raise ValueError(f"simulator mix: the weight of {name} is not a whole number: {value!r}") from None
        if weight < 0:
            raise ValueError(f"simulator mix: the weight of {name} is negative: {weight}")
        weights[name] = weight
    if not any(weights.values()):
        raise ValueError("simulator mix: every action has weight 0")
    return weights


SHOPPER_FIRST_NAMES = ("Alex", "Sam", "Robin", "Kim", "Jo", "Noa", "Lee", "Max", "Ari", "Eli")


@dataclass
class SimulatorStats:
    actions: Counter[str] = field(default_factory=Counter)
    #: Actions rolled back because a row they picked changed meanwhile (another writer deleted it).
    skipped: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        done = _listed(self.actions)
        return f"{done}; skipped: {_listed(self.skipped)}" if self.skipped else done


def _listed(counts: Counter[str]) -> str:
    return ", ".join(f"{name}={count}" for name, count in sorted(counts.items()))


def backdate(rng: random.Random) -> timedelta:
    """How far a correction moves an invoice: one or two days and up to 90 minutes into the past,
    never forward (a store backdates a correction; an invoice dated tomorrow would top "Latest
    Invoices" for a day)."""
    return -timedelta(days=rng.choice((1, 2)), minutes=rng.randint(0, 90))


def _now() -> datetime:
    """Invoice dates are UTC wall-clock time (the column has no zone), to the microsecond."""
    return datetime.now(UTC).replace(tzinfo=None)


class Simulator:
    def __init__(
        self, engine: Engine, seed: int | None = None, recent: int = 50, weights: dict[str, int] | None = None
    ) -> None:
        self.engine = engine
        self.rng = random.Random(seed)
        self.weights = {name: w for name, w in (weights or ACTION_WEIGHTS).items() if w > 0}
        self.recent = recent
        self.stats = SimulatorStats()
        self._tracks: list[tuple[int, Decimal]] | None = None
        self._customers: list[int] | None = None

    # -- reference data cached once (ids only; prices re-read would be the same) ----
    def _track_prices(self, conn: Connection) -> list[tuple[int, Decimal]]:
        if self._tracks is None:
            rows = conn.execute(select(track.c.track_id, track.c.unit_price).order_by(track.c.track_id))
            self._tracks = [(r.track_id, r.unit_price) for r in rows]
        return self._tracks

    def _customer_ids(self, conn: Connection) -> list[int]:
        if self._customers is None:
            rows = conn.execute(select(customer.c.customer_id).order_by(customer.c.customer_id))
            self._customers = [r.customer_id for r in rows]
        return self._customers

    def _recent_invoices(self, conn: Connection) -> list[int]:
        rows = conn.execute(select(invoice.c.invoice_id).order_by(invoice.c.invoice_id.desc()).limit(self.recent))
        return sorted(r.invoice_id for r in rows)

    def _recompute_total(self, conn: Connection, invoice_id: int) -> None:
        line_sum = func.coalesce(func.sum(invoice_line.c.unit_price * invoice_line.c.quantity), 0)
        total = select(line_sum).where(invoice_line.c.invoice_id == invoice_id).scalar_subquery()
        conn.execute(update(invoice).where(invoice.c.invoice_id == invoice_id).values(total=total))

    # -- actions ----------------------------------------------------------------------
    def new_invoice(self, conn: Connection) -> None:
        customer_id = self.rng.choice(self._customer_ids(conn))
        billing = conn.execute(
            select(
                customer.c.address,
                customer.c.city,
                customer.c.state,
                customer.c.country,
                customer.c.postal_code,
            ).where(customer.c.customer_id == customer_id)
        ).one()
        tracks = self.rng.sample(self._track_prices(conn), k=self.rng.choice((1, 1, 2, 2, 3, 4, 6, 9)))
        lines = [(track_id, price, self.rng.choice((1, 1, 1, 1, 2, 3))) for track_id, price in tracks]
        total = sum((price * qty for _, price, qty in lines), Decimal("0.00"))
        invoice_id = conn.execute(
            insert(invoice)
            .values(
                customer_id=customer_id,
                invoice_date=_now(),
                billing_address=billing.address,
                billing_city=billing.city,
                billing_state=billing.state,
                billing_country=billing.country,
                billing_postal_code=billing.postal_code,
                total=total,
            )
            .returning(invoice.c.invoice_id)
        ).scalar_one()
        conn.execute(
            insert(invoice_line),
            [{"invoice_id": invoice_id, "track_id": t, "unit_price": p, "quantity": q} for t, p, q in lines],
        )

    def change_quantity(self, conn: Connection) -> None:
        line = self._pick_line(conn)
        if line is None:
            return self.new_invoice(conn)
        line_id, invoice_id, quantity = line
        new_quantity = self.rng.choice([q for q in (1, 2, 3, 4) if q != quantity])
        conn.execute(
            update(invoice_line).where(invoice_line.c.invoice_line_id == line_id).values(quantity=new_quantity)
        )
        self._recompute_total(conn, invoice_id)

    def remove_line(self, conn: Connection) -> None:
        line = self._pick_line(conn)
        if line is None:
            return self.new_invoice(conn)
        line_id, invoice_id, _ = line
        conn.execute(delete(invoice_line).where(invoice_line.c.invoice_line_id == line_id))
        self._recompute_total(conn, invoice_id)

    def move_invoice(self, conn: Connection) -> None:
        recent = self._recent_invoices(conn)
        if not recent:
            return self.new_invoice(conn)
        invoice_id = self.rng.choice(recent)
        shift = backdate(self.rng)
        conn.execute(
            update(invoice)
            .where(invoice.c.invoice_id == invoice_id)
            .values(invoice_date=invoice.c.invoice_date + shift)
        )

    def delete_invoice(self, conn: Connection) -> None:
        recent = self._recent_invoices(conn)
        if not recent:
            return self.new_invoice(conn)
        invoice_id = self.rng.choice(recent)
        conn.execute(delete(invoice_line).where(invoice_line.c.invoice_id == invoice_id))
        conn.execute(delete(invoice).where(invoice.c.invoice_id == invoice_id))

    def rename_customer(self, conn: Connection) -> None:
        customer_id = self.rng.choice(self._customer_ids(conn))
        suffix = self.rng.choice(("", " Jr.", " Sr.", "-Smith", "son"))
        base = conn.execute(select(customer.c.last_name).where(customer.c.customer_id == customer_id)).scalar_one()
        stem = base.split(" ")[0].split("-")[0].removesuffix("son") or base
        conn.execute(
            update(customer).where(customer.c.customer_id == customer_id).values(last_name=(stem + suffix)[:20])
        )

    def new_user(self, conn: Connection) -> None:
        # above every id, so above every earlier shopper's n (a count repeats once users are deleted)
        n = conn.execute(select(func.coalesce(func.max(users.c.id), 0))).scalar_one() + 1
        name = f"{self.rng.choice(SHOPPER_FIRST_NAMES)} Shopper {n}"
        conn.execute(
            insert(users).values(name=name, email=f"shopper{n}@chinook.test", role="viewer", last_activity=None)
        )

    def touch_users(self, conn: Connection) -> None:
        ids = [r.id for r in conn.execute(select(users.c.id).order_by(users.c.id))]
        if not ids:
            return
        chosen = self.rng.sample(ids, k=min(len(ids), self.rng.randint(1, 3)))
        conn.execute(update(users).where(users.c.id.in_(chosen)).values(last_activity=func.now()))

    def _pick_line(self, conn: Connection) -> tuple[int, int, int] | None:
        recent = self._recent_invoices(conn)
        if not recent:
            return None
        rows = conn.execute(
            select(invoice_line.c.invoice_line_id, invoice_line.c.invoice_id, invoice_line.c.quantity)
            .where(invoice_line.c.invoice_id.in_(recent))
            .order_by(invoice_line.c.invoice_line_id)
        ).all()
        if not rows:
            return None
        row = self.rng.choice(rows)
        return int(row[0]), int(row[1]), int(row[2])

    # -- driving ----------------------------------------------------------------------
    def choose(self) -> str:
        """The next action, at random by weight."""
        names = list(self.weights)
        return self.rng.choices(names, weights=[self.weights[n] for n in names])[0]

    def step(self, action: str | None = None) -> str:
        """Run one action (chosen at random by weight unless given) in its own transaction."""
        if action is None:
            action = self.choose()
        handler: Callable[[Connection], None] = getattr(self, action)
        try:
            with self.engine.begin() as conn:
                handler(conn)
        except IntegrityError as exc:  # e.g. a line moved to an invoice another writer just deleted
            log.warning("simulator: %s rolled back, a row it picked changed meanwhile: %s", action, exc.orig)
            self.stats.skipped[action] += 1
            return action
        self.stats.actions[action] += 1
        return action

    def run(
        self,
        rate: float,
        count: int | None = None,
        duration: float | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> SimulatorStats:
        """Run actions at `rate` per second (0 = as fast as possible) until count/duration/stop."""
        started = time.monotonic()
        done = 0
        while not should_stop():
            if count is not None and done >= count:
                break
            if duration is not None and time.monotonic() - started >= duration:
                break
            self.step()
            done += 1
            if rate > 0:
                delay = started + done / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        return self.stats
