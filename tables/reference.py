"""Reference data the deltas are rendered with: customers, tracks, albums, artists, genres.

Filled from their own change topics (never from SQL at run time). Only display columns are
kept: no email, phone, address or payment detail of a customer ever enters the worker's state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.records import Album, Artist, Customer, Genre, Record, Track

UNKNOWN = "Unknown"


@dataclass(slots=True)
class ReferenceData:
    customers: dict[int, Customer] = field(default_factory=dict)
    tracks: dict[int, Track] = field(default_factory=dict)
    albums: dict[int, Album] = field(default_factory=dict)
    artists: dict[int, Artist] = field(default_factory=dict)
    genres: dict[int, Genre] = field(default_factory=dict)
    genres_version: int = 0  # counts changes of tracks and genres: genre sums of an older one may be stale

    def put(self, record: Record, deleted: bool = False) -> bool:
        """Store (or with deleted=True forget) a reference row; False if it is not reference data."""
        match record:
            case Customer():
                store, key = self.customers, record.customer_id
            case Track():
                store, key = self.tracks, record.track_id  # type: ignore[assignment]
            case Album():
                store, key = self.albums, record.album_id  # type: ignore[assignment]
            case Artist():
                store, key = self.artists, record.artist_id  # type: ignore[assignment]
            case Genre():
                store, key = self.genres, record.genre_id  # type: ignore[assignment]
            case _:
                return False
        if deleted:
            store.pop(key, None)
        else:
            store[key] = record  # type: ignore[assignment]
        if store is self.tracks or store is self.genres:
            self.genres_version += 1
        return True

    def customer_name(self, customer_id: int) -> str:
        c = self.customers.get(customer_id)
        return f"{c.first_name} {c.last_name}" if c else UNKNOWN

    def track_name(self, track_id: int) -> str:
        t = self.tracks.get(track_id)
        return t.name if t else UNKNOWN

    def artist_of_track(self, track_id: int) -> str:
        t = self.tracks.get(track_id)
        album = self.albums.get(t.album_id) if t and t.album_id is not None else None
        artist = self.artists.get(album.artist_id) if album else None
        return (artist.name or UNKNOWN) if artist else UNKNOWN

    def genre_of_track(self, track_id: int) -> str:
        t = self.tracks.get(track_id)
        g = self.genres.get(t.genre_id) if t and t.genre_id is not None else None
        return (g.name or UNKNOWN) if g else UNKNOWN
