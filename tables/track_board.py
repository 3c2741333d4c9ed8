"""Revenue per genre and the best-selling tracks of one merged day, kept by the tracks that changed.

The merger publishes both for today at every state tick; a busy day has thousands of tracks, and
summing or ranking all of them every tick was most of a tick's cost. The board follows a
`DaySales` through its `touched` tracks: a tick moves the genre sums by those tracks' changes and
ranks the previous top with them. That ranking is exact while no track of the previous top lost
units (then no other track can have passed the last of it); otherwise, and for a new `DaySales`
or changed tracks or genres in the reference data, it counts and ranks every track again.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from tables.contributions import ZERO
from tables.day_sales import DaySales
from tables.reference import ReferenceData
from tables.views import TOP_TRACKS, best_sellers, revenue_by_genre, top_tracks

Top = list[tuple[int, int, Decimal]]  # (track_id, units, revenue), best first


class TrackBoard:
    """`by_genre` and `top` of the `DaySales` last given to `follow`."""

    def __init__(self, n: int = TOP_TRACKS) -> None:
        self.n = n
        self.by_genre: dict[str, Decimal] = {}
        self.top: Top = []
        self._sales: DaySales | None = None
        self._genres_version = -1
        self._counted: dict[int, tuple[str, Decimal]] = {}  # track -> (genre, revenue) in by_genre

    def follow(self, sales: DaySales | None, ref: ReferenceData) -> None:
        """Bring `by_genre` and `top` up to date with `sales` (None: no sales)."""
        if sales is None:
            self._sales, self.by_genre, self.top, self._counted = None, {}, [], {}
            return
        if sales is not self._sales or sales.touched is None or ref.genres_version != self._genres_version:
            self._recount(sales, ref)
            return
        touched, sales.touched = sales.touched, set()
        if not touched:
            return
        by_genre = defaultdict(lambda: ZERO, self.by_genre)
        for track in touched:
            old = self._counted.pop(track, None)
            if old is not None:
                by_genre[old[0]] -= old[1]
            sale = sales.by_track.get(track)
            if sale is not None:
                genre = ref.genre_of_track(track)
                by_genre[genre] += sale.revenue
                self._counted[track] = (genre, sale.revenue)
        self.by_genre = dict(by_genre)
        self._rank(sales, touched)

    def _recount(self, sales: DaySales, ref: ReferenceData) -> None:
        sales.touched = set()
        self._sales, self._genres_version = sales, ref.genres_version
        self._counted = {t: (ref.genre_of_track(t), s.revenue) for t, s in sales.by_track.items()}
        self.by_genre = revenue_by_genre(self._counted.values())
        self.top = top_tracks(sales, self.n)

    def _rank(self, sales: DaySales, touched: set[int]) -> None:
        by_track = sales.by_track
        for track, units, _ in self.top:
            if track in touched and (track not in by_track or by_track[track].units < units):
                self.top = top_tracks(sales, self.n)  # a top track lost units: another may have passed it
                return
        # An untouched track outside the previous top ranked below its last (or, with a short top,
        # had no units), and every track of that top kept or gained units: it stays outside.
        candidates = {t for t, _, _ in self.top} | touched
        self.top = best_sellers(((t, by_track[t]) for t in candidates if t in by_track), self.n)
