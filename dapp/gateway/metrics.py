"""Prometheus metrics for the gateway (`GET /metrics`), in the process's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: complete: every byte sent; aborted: the content failed (IPFS broke, integrity) mid-stream;
#: disconnected: the client went away first
DOWNLOAD_OUTCOMES = ("complete", "aborted", "disconnected")


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gateway_requests_total", "HTTP requests answered",
            ["method", "route", "status"], registry=self.registry,
        )
        self.request_seconds = Histogram(
            "gateway_request_seconds", "Time to answer a request (until headers)",
            ["route"], registry=self.registry,
        )
        self.bytes_served = Counter(
            "gateway_bytes_served_total", "Content bytes streamed to licensed clients",
            registry=self.registry,
        )
        self.downloads = Counter(
            "gateway_downloads_total", "Content downloads (GET with a body) by how they ended",
            ["outcome"], registry=self.registry,
        )
        for outcome in DOWNLOAD_OUTCOMES:
            self.downloads.labels(outcome)
        self.downloads_unrecorded = Counter(
            "gateway_downloads_unrecorded_total",
            "Downloads served but not written to the download log (database down)",
            registry=self.registry,
        )
        self.license_check_seconds = Histogram(
            "gateway_license_check_seconds", "Latency of hasLicense checks",
            ["cached"], registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        )
        for cached in ("true", "false"):  # exported from the start, not after the first check
            self.license_check_seconds.labels(cached)
        self.vouchers_pending = Gauge(
            "gateway_vouchers_pending", "Channel vouchers stored but not yet redeemed",
            registry=self.registry,
        )
        self.metered_calls = Counter(
            "gateway_metered_calls_total", "Model invocations by outcome (paid, streamed, "
            "payment-required, not-licensed, busy, model-failed)", ["outcome"],
            registry=self.registry,
        )
        self.payment_required = Counter(
            "gateway_payment_required_total", "402 answers to metered calls by reason",
            ["reason"], registry=self.registry,
        )
        self.rate_limited = Counter(
            "gateway_rate_limited_total", "Requests refused by the rate limit",
            registry=self.registry,
        )
        self.compute_jobs = Counter(
            "gateway_compute_jobs_total", "Compute jobs run as provider, by outcome "
            "(submitted, failed)", ["outcome"], registry=self.registry,
        )
        self.compute_job_seconds = Histogram(
            "gateway_compute_job_seconds", "Wall time of compute jobs' algorithm runs",
            registry=self.registry, buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
        )

    def observe_compute_job(self, outcome: str, seconds: float | None) -> None:
        """The job worker's report of one job: its outcome, and how long a submitted one ran."""
        self.compute_jobs.labels(outcome).inc()
        if seconds is not None and outcome == "submitted":
            self.compute_job_seconds.observe(seconds)
