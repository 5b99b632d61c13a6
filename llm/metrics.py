"""Prometheus metrics of the message calls: outcomes, latency, calls in flight."""

from prometheus_client import Counter, Gauge, Histogram

from llm import limits

MESSAGES = Counter(
    "llm_messages_total", "Outfit messages asked of Gemini, by outcome.", ["outcome"]
)
LATENCY = Histogram(
    "llm_message_latency_seconds",
    "Time to an outfit's message (queueing, image and Gemini call), by outcome.",
    ["outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 6, 8, 10, 15, 30),
)
IN_FLIGHT = Gauge(
    "llm_calls_in_flight", "Gemini calls in flight in this process."
)
IN_FLIGHT.set_function(lambda: limits.in_flight_limiter().active)


def record(*, outcome: str, latency_ms: int) -> None:
    MESSAGES.labels(outcome).inc()
    LATENCY.labels(outcome).observe(latency_ms / 1000)


CACHE = Counter(
    "llm_message_cache_total", "Outfit messages looked up in the cache, by result.", ["result"]
)


def record_cache(*, hits: int, misses: int) -> None:
    if hits:
        CACHE.labels("hit").inc(hits)
    if misses:
        CACHE.labels("miss").inc(misses)
