"""Who is asking: Sign-In with Ethereum sessions, or an EIP-712 signature per request."""
