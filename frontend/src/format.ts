// Amounts, sizes, durations and addresses as a person reads them. Amounts are exact bigints
// in base units everywhere else; only these functions turn them into text and back.

/** `1234500000000000000n, 18` → `"1.2345"`; never rounds up, trims trailing zeros. */
export function formatAmount(value: bigint, decimals: number, maxFraction = decimals): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const base = 10n ** BigInt(decimals);
  const whole = abs / base;
  let fraction = decimals > 0 ? (abs % base).toString().padStart(decimals, "0") : "";
  fraction = fraction.slice(0, Math.max(0, maxFraction)).replace(/0+$/, "");
  const wholeText = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${wholeText}${fraction ? "." + fraction : ""}`;
}

/** `"1.5", 18` → `1500000000000000000n`; rejects more fraction digits than the token has. */
export function parseAmount(text: string, decimals: number): bigint {
  const cleaned = text.trim().replace(/[,_\s]/g, "");
  const match = /^(\d*)(?:\.(\d*))?$/.exec(cleaned);
  if (!match || (match[1] === "" && (match[2] ?? "") === "")) {
    throw new RangeError(`"${text}" is not an amount`);
  }
  const fraction = match[2] ?? "";
  if (fraction.length > decimals) {
    throw new RangeError(`at most ${decimals} digits after the point for this token`);
  }
  const digits = (match[1] || "0") + fraction.padEnd(decimals, "0");
  return BigInt(digits);
}

/** A token amount with its symbol: `"12.5 TOOL"`. */
export function formatTokenAmount(
  value: bigint,
  token: { symbol: string; decimals: number },
  maxFraction = 6,
): string {
  return `${formatAmount(value, token.decimals, maxFraction)} ${token.symbol}`;
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "unknown size";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${BYTE_UNITS[unit]}`;
}

/** Seconds of a license: 0 is perpetual. */
export function formatDuration(seconds: number): string {
  if (seconds <= 0) return "perpetual";
  const units: [number, string][] = [
    [365 * 86400, "year"],
    [30 * 86400, "month"],
    [7 * 86400, "week"],
    [86400, "day"],
    [3600, "hour"],
    [60, "minute"],
  ];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const count = seconds / size;
      return `${count} ${name}${count === 1 ? "" : "s"}`;
    }
  }
  for (const [size, name] of units) {
    if (seconds >= size) {
      const count = Math.round((seconds / size) * 10) / 10;
      return `about ${count} ${name}s`;
    }
  }
  return `${seconds} seconds`;
}

export function shortAddress(address: string | null | undefined): string {
  if (!address) return "";
  return address.length > 12 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

export function formatPercent(done: number, total: number | null): string {
  if (!total) return "";
  return `${Math.min(100, Math.floor((done / total) * 100))}%`;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "never";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

/** Unix seconds (a block's timestamp, a deadline) → "2026-06-01 12:00:05 UTC". */
export function formatTimestamp(seconds: bigint | number): string {
  const date = new Date(Number(seconds) * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

const CHAIN_NAMES: Record<number, string> = {
  1: "Ethereum",
  10: "OP Mainnet",
  137: "Polygon",
  8453: "Base",
  42161: "Arbitrum One",
  11155111: "Sepolia",
  1337: "Local dev chain",
  31337: "Local dev chain (anvil)",
};

export function chainName(chainId: number): string {
  return CHAIN_NAMES[chainId] ?? `chain ${chainId}`;
}
