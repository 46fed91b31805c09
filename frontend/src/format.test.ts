import { describe, expect, it } from "vitest";
import { chainName, formatAmount, formatBytes, formatDuration, formatPercent, formatTimestamp, formatTokenAmount, parseAmount, shortAddress } from "./format";

describe("amounts", () => {
  it("formats base units without rounding up and trims zeros", () => {
    expect(formatAmount(1234500000000000000n, 18)).toBe("1.2345");
    expect(formatAmount(10n * 10n ** 18n, 18)).toBe("10");
    expect(formatAmount(1999999n, 6, 2)).toBe("1.99");
    expect(formatAmount(1234567n * 10n ** 18n, 18)).toBe("1,234,567");
    expect(formatAmount(-5n, 1)).toBe("-0.5");
    expect(formatAmount(42n, 0)).toBe("42");
  });

  it("parses what a person types, exactly", () => {
    expect(parseAmount("1.5", 18)).toBe(1500000000000000000n);
    expect(parseAmount(" 1,000 ", 6)).toBe(1000000000n);
    expect(parseAmount(".25", 2)).toBe(25n);
    expect(parseAmount("7", 0)).toBe(7n);
    expect(() => parseAmount("1.234", 2)).toThrow(/at most 2 digits/);
    expect(() => parseAmount("abc", 18)).toThrow(/not an amount/);
    expect(() => parseAmount(".", 18)).toThrow(/not an amount/);
  });

  it("round-trips", () => {
    for (const text of ["0.000001", "123.456", "1000000"]) {
      expect(formatAmount(parseAmount(text, 18), 18).replace(/,/g, "")).toBe(text);
    }
  });

  it("names the token", () => {
    expect(formatTokenAmount(25n * 10n ** 17n, { symbol: "DDT", decimals: 18 })).toBe("2.5 DDT");
  });
});

describe("sizes, durations, addresses", () => {
  it("sizes in binary units", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(50 * 1024 * 1024)).toBe("50 MiB");
    expect(formatBytes(null)).toBe("unknown size");
  });

  it("durations of licenses", () => {
    expect(formatDuration(0)).toBe("perpetual");
    expect(formatDuration(30 * 86400)).toBe("1 month");
    expect(formatDuration(2 * 86400)).toBe("2 days");
    expect(formatDuration(3600)).toBe("1 hour");
    expect(formatDuration(90)).toBe("about 1.5 minutes");
    expect(formatDuration(5)).toBe("5 seconds");
  });

  it("progress percentages never pass 100 and need a total", () => {
    expect(formatPercent(50, 200)).toBe("25%");
    expect(formatPercent(300, 200)).toBe("100%");
    expect(formatPercent(5, null)).toBe("");
  });

  it("short addresses and chain names", () => {
    expect(shortAddress("0x1234567890abcdef1234567890abcdef12345678")).toBe("0x1234…5678");
    expect(shortAddress(null)).toBe("");
    expect(chainName(1337)).toBe("Local dev chain");
    expect(chainName(999)).toBe("chain 999");
  });
});

describe("timestamps", () => {
  it("reads a block's unix seconds to the second, in UTC", () => {
    expect(formatTimestamp(1_800_000_000n)).toBe("2027-01-15 08:00:00 UTC");
    expect(formatTimestamp(0)).toBe("1970-01-01 00:00:00 UTC");
  });
});
