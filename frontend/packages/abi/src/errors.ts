// Custom errors a registry call can revert with that its own ABI does not declare.
import { decodeErrorResult, parseAbi, type Abi, type Hex } from "viem";

/** OpenZeppelin 5 ERC-20 / ERC-2612 errors: a token's revert inside a registry call (not enough
 *  balance or allowance, a bad permit) decodes by name when these are in the ABI. */
export const erc20Errors = parseAbi([
  "error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)",
  "error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)",
  "error ERC20InvalidSender(address sender)",
  "error ERC20InvalidReceiver(address receiver)",
  "error ERC2612ExpiredSignature(uint256 deadline)",
  "error ERC2612InvalidSigner(address signer, address owner)",
]);

/** `abi` plus the ERC-20 errors it does not already declare. */
export function withErc20Errors(abi: Abi): Abi {
  const known = new Set(abi.filter((item) => item.type === "error").map((item) => (item as { name: string }).name));
  return [...abi, ...erc20Errors.filter((item) => !known.has(item.name))];
}

type ErrorLink = { cause?: unknown; data?: unknown };

/**
 * The custom error a failed call reverted with, by name and arguments, or null. viem decodes
 * a revert when the node answers with code 3; ganache answers code -32000 with the revert
 * data as `data` (hex) or `data.result`, which viem leaves raw: this decodes both.
 */
export function revertError(error: unknown, abi: Abi): { errorName: string; args: readonly unknown[] } | null {
  const seen = new Set<unknown>();
  for (let link = error as ErrorLink | undefined; link && typeof link === "object" && !seen.has(link); link = link.cause as ErrorLink) {
    seen.add(link);
    const data = link.data as { errorName?: unknown; args?: readonly unknown[]; result?: unknown } | string | undefined;
    if (data && typeof data === "object" && typeof data.errorName === "string") {
      return { errorName: data.errorName, args: data.args ?? [] };
    }
    const raw = typeof data === "string" ? data : data?.result;
    if (typeof raw !== "string" || !/^0x[0-9a-fA-F]{8}/.test(raw)) continue;
    try {
      const decoded = decodeErrorResult({ abi: withErc20Errors(abi), data: raw as Hex });
      return { errorName: decoded.errorName, args: decoded.args ?? [] };
    } catch {
      // not one of this ABI's errors: look further down the chain
    }
  }
  return null;
}
