"""The newest invoices, ordered by (invoice_date, invoice_id) descending."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class InvoiceFact:
    invoice_id: int
    invoice_date: datetime
    customer_id: int
    total: Decimal


@dataclass(slots=True)
class LatestInvoices:
    """Every live invoice, kept sorted so the newest N are a slice."""

    facts: dict[int, InvoiceFact] = field(default_factory=dict)
    _order: list[tuple[datetime, int]] = field(default_factory=list)

    def put(self, fact: InvoiceFact | None, invoice_id: int) -> InvoiceFact | None:
        """Insert, replace or (with None) remove an invoice; return what was there before."""
        old = self.facts.pop(invoice_id, None)
        if old is not None:
            i = bisect.bisect_left(self._order, (old.invoice_date, invoice_id))
            del self._order[i]
        if fact is not None:
            self.facts[invoice_id] = fact
            bisect.insort(self._order, (fact.invoice_date, invoice_id))
        return old

    def newest(self, n: int = 10) -> list[InvoiceFact]:
        return [self.facts[i] for _, i in reversed(self._order[-n:])] if n else []
