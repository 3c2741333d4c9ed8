"""The sequencer's checkpoint holds everything a new merger needs to continue numbering."""

from __future__ import annotations

from schemas import jsonio
from stream.sequencer import PARTIALS_SRC, Sequencer


def _published() -> Sequencer:
    seq = Sequencer()
    seq.publish("private-admin.invoices", "InvoiceCreated", {"id": 7, "total": "1.98"}, src=(PARTIALS_SRC, 30_001))
    seq.publish("private-admin.sales", "SalesUpdated", {"total": "1.98"})
    seq.publish("public-feed", "news", "plain", src=(2, 41), socket_id="1.2")
    seq.publish("private-admin.sales", "SalesUpdated", {"total": "3.96"})
    seq.read_to = {0: 12, 2: 5}
    return seq


def test_a_checkpoint_restores_seqs_sources_and_last_data() -> None:
    seq = _published()
    restored = Sequencer.from_checkpoint(jsonio.loads(jsonio.dumps(seq.checkpoint())))
    assert restored.seqs == {"private-admin.invoices": 1, "private-admin.sales": 2, "public-feed": 1}
    assert restored.event_src == {"private-admin.invoices": 30_001}
    assert restored.trigger_offsets == {2: 41}
    assert restored.last_data == seq.last_data
    assert restored.last_data[("private-admin.sales", "SalesUpdated")] == {"total": "3.96"}
    assert restored.read_to == {0: 12, 2: 5}
    assert restored.published("private-admin.invoices", 30_001)
    assert not restored.published("private-admin.invoices", 30_002)


def test_numbering_continues_after_a_checkpoint() -> None:
    restored = Sequencer.from_checkpoint(jsonio.loads(jsonio.dumps(_published().checkpoint())))
    restored.publish("private-admin.sales", "SalesUpdated", {"total": "5.94"})
    assert restored.seqs["private-admin.sales"] == 3
