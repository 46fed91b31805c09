"""Licensed downloads: the asset version from chain, the license, the metadata and sealed key
from IPFS, then the content streamed from Kubo and decrypted on the fly."""
