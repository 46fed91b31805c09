"""The ComputeMarket as both sides see it, below the gateway, the job worker and the buyer's
client: one reader of the contract (`reader`), the EIP-712 vouchers of metered calls with
their signing and verification (`vouchers`), and the provider account — unlocked once, with
the one serialized sender that every provider transaction goes through — with its
registration and stake (`provider`)."""
