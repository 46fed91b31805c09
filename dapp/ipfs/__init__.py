"""IPFS: the only package that talks to Kubo."""
