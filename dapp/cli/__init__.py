"""The `datadao` command line."""
