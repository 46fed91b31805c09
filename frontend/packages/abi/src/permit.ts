// EIP-2612 permits: sign once, and buyWithPermit takes the tokens in the same transaction.
import { parseAbi, parseSignature, type Address, type Hex } from "viem";

/** What a permit needs of the token: its nonce for the owner and its EIP-712 domain. */
export const permitAbi = parseAbi([
  "function nonces(address owner) view returns (uint256)",
  "function name() view returns (string)",
  "function version() view returns (string)",
  "function DOMAIN_SEPARATOR() view returns (bytes32)",
  "function eip712Domain() view returns (bytes1 fields, string name, string version, uint256 chainId, address verifyingContract, bytes32 salt, uint256[] extensions)",
]);

export interface PermitMessage {
  owner: Address;
  spender: Address;
  value: bigint;
  nonce: bigint;
  deadline: bigint;
}

export interface PermitDomain {
  name: string;
  version: string;
  chainId: number;
  verifyingContract: Address;
}

/** EIP-712 typed data of an EIP-2612 permit: what `walletClient.signTypedData` signs. */
export function permitTypedData(domain: PermitDomain, message: PermitMessage) {
  return {
    domain,
    types: {
      Permit: [
        { name: "owner", type: "address" },
        { name: "spender", type: "address" },
        { name: "value", type: "uint256" },
        { name: "nonce", type: "uint256" },
        { name: "deadline", type: "uint256" },
      ],
    } as const,
    primaryType: "Permit" as const,
    message,
  };
}

/** The registry's `Permit` struct (value, deadline, v, r, s) from a 65-byte signature. */
export function permitArgument(signature: Hex, value: bigint, deadline: bigint) {
  const { r, s, v, yParity } = parseSignature(signature);
  return { value, deadline, v: Number(v ?? BigInt(27 + (yParity ?? 0))), r, s };
}
