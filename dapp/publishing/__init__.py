"""Publishing assets and dealing with the registry as a publisher, buyer or curator: the
upload pipeline (pack, encrypt, IPFS, transaction), locally signed transactions with decoded
reverts, and unit parsing. The CLI is one front end over it."""
