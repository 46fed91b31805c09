"""Content encryption (DDX1 segmented AES-256-GCM) and key sealing for gateways."""
