"""Compute: run an algorithm or model next to the data, in a sandbox (pluggable executor)."""
