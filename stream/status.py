"""`/pulse/status/`: is this worker's state complete, and how far behind is it (for ops and tests)."""

from __future__ import annotations

from typing import Any

from stream.app import app
from stream.ownership import INPUT_TOPICS, caught_up, state_ready
from stream.reference import reference, reference_ready


def input_lag() -> dict[str, int]:
    """Records not yet read, per assigned input partition (`topic[partition]`)."""
    consumer = app.consumer
    read_offsets = getattr(consumer, "_read_offset", {})
    lag: dict[str, int] = {}
    for tp in sorted(app.assignor.assigned_actives()):
        if tp.topic not in INPUT_TOPICS:
            continue
        highwater = consumer.highwater(tp)
        read = read_offsets.get(tp)
        if highwater is not None:
            lag[f"{tp.topic}[{tp.partition}]"] = max(0, highwater - (read + 1 if read is not None else 0))
    return lag


@app.page("/pulse/status/")
async def status_view(web: Any, request: Any) -> Any:
    return web.json(
        {
            "state_ready": state_ready(),
            "reference_ready": reference_ready.is_set(),
            "caught_up": caught_up(),
            "reference_rows": {
                "customers": len(reference.customers),
                "tracks": len(reference.tracks),
                "albums": len(reference.albums),
                "artists": len(reference.artists),
                "genres": len(reference.genres),
            },
            "input_lag": input_lag(),
        }
    )
