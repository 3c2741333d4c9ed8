"""The catch-up gate's rounds: committed offsets must reach every partition's end of the round."""

from __future__ import annotations

from aiokafka import TopicPartition

from stream.catch_up import INPUT_TOPICS, CatchUp

A0, A1, B0 = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)


def gate(targets: dict[TopicPartition, int]) -> CatchUp:
    g = CatchUp("group", ["a", "b"], rounds=2)
    g.targets = targets
    return g


def test_every_partition_with_records_must_be_committed_to_its_end() -> None:
    g = gate({A0: 10, A1: 5, B0: 0})
    assert not g.reached({A0: 10})  # a[1] never committed
    assert not g.reached({A0: 10, A1: 4})
    assert g.reached({A0: 10, A1: 5})  # b[0] is empty: nothing to read
    assert g.reached({A0: 12, A1: 5, B0: 3})  # records arrived after the round began


def test_a_rebalance_starts_over() -> None:
    g = gate({A0: 1})
    g.rounds_done = 2
    assert g.done
    g.reset()
    assert not g.done and g.targets is None


def test_the_gate_watches_every_stage_input() -> None:
    suffixes = {"invoice-changes", "day-contributions", "invoice-facts", "user-changes"}
    assert {t.rsplit(".", 1)[-1] for t in INPUT_TOPICS} >= suffixes | {"invoice", "invoice_line", "users"}
