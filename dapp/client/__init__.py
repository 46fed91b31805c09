"""Talking to a gateway from Python: sign in, download with resume (CLI, scripts, benchmarks)."""
