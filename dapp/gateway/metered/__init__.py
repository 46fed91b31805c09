"""Metered model calls paid with payment-channel vouchers (the ComputeMarket's channels).

`signing` (the EIP-712 voucher and its header), `market` (channel and provider state from
chain, briefly cached), `verifier` (is this voucher worth one more call?), `models` (a model
asset's files decrypted once per content CID, run in the sandbox), `redeemer` (pending
vouchers to chain in one `redeemMany`), `provider` (the gateway's provider account and its
registration), `service` (the pieces together, started with the gateway).
"""
