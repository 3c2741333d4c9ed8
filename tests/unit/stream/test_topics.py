"""The worker creates, before Faust starts, every stream topic its agents read."""

from __future__ import annotations

import pytest
from aiokafka.errors import InvalidReplicationFactorError

from stream import app as pulse_app
from stream.sequencer import checkpoints_topic
from stream.topics import created_names, internal_topics, public_topics


def test_every_internal_topic_of_the_app_is_created_before_faust_starts() -> None:
    settings = pulse_app.settings
    created = {t.name: t for t in internal_topics(settings)}
    used = {name for topic in (pulse_app.control, pulse_app.partials) for name in topic.topics}
    used.add(checkpoints_topic())  # written and read by the sequencer's own producer and consumer
    assert set(created) == used
    control = next(iter(pulse_app.control.topics))
    assert created[control].num_partitions == settings.topic_partitions  # co-partitioned with the CDC topics
    assert control in pulse_app.owner_input.topics
    assert created[next(iter(pulse_app.partials.topics))].num_partitions == 1  # one order for the merger
    assert created[checkpoints_topic()].num_partitions == 1  # the last record is the last checkpoint
    assert created[checkpoints_topic()].topic_configs["cleanup.policy"] == "compact"


def test_public_and_internal_topics_do_not_overlap() -> None:
    settings = pulse_app.settings
    assert not {t.name for t in public_topics(settings)} & {t.name for t in internal_topics(settings)}


def test_only_topics_the_broker_created_are_reported_created() -> None:
    # (topic, error_code, error_message) as CreateTopicsResponse v1+ carries them; 36 = already exists
    assert created_names([("a", 0, None), ("b", 36, "Topic 'b' already exists.")]) == ["a"]


def test_any_other_create_error_is_raised() -> None:
    with pytest.raises(InvalidReplicationFactorError):
        created_names([("c", InvalidReplicationFactorError.errno, "Replication factor: 3 larger than brokers: 1")])
