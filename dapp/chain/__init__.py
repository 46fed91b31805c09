"""Chain access: web3 connection, contract bindings from ABI artifacts, deployments file."""
