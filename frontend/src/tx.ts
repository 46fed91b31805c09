// Every transaction says where it is, in words: waiting for the wallet, sent and pending,
// confirmed in a block, or failed (and why). Pages call `runTransaction` and show the updates.
import type { Hash } from "viem";
import { explainError, type TokenInfo } from "./errors";
import { shortAddress } from "./format";

export type TxPhase = "wallet" | "pending" | "confirmed" | "failed";

export interface TxUpdate {
  phase: TxPhase;
  label: string;
  message: string;
  hash?: Hash;
  blockNumber?: bigint;
}

export interface Receipt {
  status: "success" | "reverted";
  blockNumber: bigint;
}

export interface TransactionSteps {
  /** What the user is doing, e.g. "Buy a download license". */
  label: string;
  /** Opens the wallet and returns the transaction hash. */
  send: () => Promise<Hash>;
  /** Waits for the receipt (publicClient.waitForTransactionReceipt). */
  wait: (hash: Hash) => Promise<Receipt>;
  onUpdate: (update: TxUpdate) => void;
  token?: TokenInfo;
}

export function txMessage(update: Omit<TxUpdate, "message">, reason?: string): string {
  switch (update.phase) {
    case "wallet":
      return `${update.label}: confirm it in your wallet…`;
    case "pending":
      return `${update.label}: sent (${shortAddress(update.hash)}), pending — waiting for the network to confirm it…`;
    case "confirmed":
      return `${update.label}: confirmed in block ${update.blockNumber}.`;
    case "failed":
      return `${update.label} failed: ${reason ?? "unknown reason"}`;
  }
}

/** Runs one transaction through its phases; resolves with the last update (never throws). */
export async function runTransaction(steps: TransactionSteps): Promise<TxUpdate> {
  const emit = (update: Omit<TxUpdate, "message">, reason?: string): TxUpdate => {
    const full = { ...update, message: txMessage(update, reason) };
    steps.onUpdate(full);
    return full;
  };
  emit({ phase: "wallet", label: steps.label });
  let hash: Hash | undefined;
  try {
    hash = await steps.send();
    emit({ phase: "pending", label: steps.label, hash });
    const receipt = await steps.wait(hash);
    if (receipt.status !== "success") {
      return emit(
        { phase: "failed", label: steps.label, hash, blockNumber: receipt.blockNumber },
        `the contract reverted it in block ${receipt.blockNumber}; no tokens moved except the fee for gas.`,
      );
    }
    return emit({ phase: "confirmed", label: steps.label, hash, blockNumber: receipt.blockNumber });
  } catch (error) {
    const { message, hint } = explainError(error, steps.token);
    return emit({ phase: "failed", label: steps.label, hash }, hint ? `${message} ${hint}` : message);
  }
}
