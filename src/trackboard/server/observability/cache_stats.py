"""Cache hits, misses, errors and degraded answers per cache name on /metrics (hit rate =
hits / (hits + misses))."""

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from trackboard.server.backends.cache_aside import CacheStats


class CacheStatsCollector(Collector):
    def __init__(self, stats: CacheStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[CounterMetricFamily]:
        for name, counts, help_text in (
            ("trackboard_cache_hits", self.stats.hits, "Cached reads served from the cache."),
            ("trackboard_cache_misses", self.stats.misses, "Cached reads that were computed."),
            ("trackboard_cache_errors", self.stats.errors, "Cached reads with the cache down."),
            (
                "trackboard_cache_stale_served",
                self.stats.stale,
                "Last known values served because the database was unreachable.",
            ),
        ):
            family = CounterMetricFamily(name, help_text, labels=["cache"])
            for cache_name, count in sorted(counts.items()):
                family.add_metric([cache_name], count)
            yield family
