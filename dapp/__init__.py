"""DataDAO Exchange: indexer, gateway and publisher CLI for the on-chain data and model exchange."""
