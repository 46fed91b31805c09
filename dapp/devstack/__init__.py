"""Local stack processes for development and tests: dev chain and Kubo on free ports."""
