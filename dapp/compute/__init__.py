"""Compute: run an algorithm or model next to the data, in a sandbox, behind a pluggable executor."""
