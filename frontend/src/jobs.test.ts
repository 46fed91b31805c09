import { describe, expect, it } from "vitest";
import type { ComputeJob } from "./api";
import { disputeBond, jobDeadline, jobView, resultText, type ChainJob } from "./jobs";

const NOW = 1_800_000_000n;
const HASH = `0x${"ab".repeat(32)}` as const;
const chainJob = (over: Partial<ChainJob>): ChainJob => ({ status: 1, deadline: NOW + 3600n, challengeEnd: 0n, resultHash: `0x${"00".repeat(32)}`, ...over });
const gatewayJob = (over: Partial<ComputeJob>): ComputeJob => ({
  job_id: 1, status: "queued", reason: null, result_cid: null, result_hash: null, buyer: "0x", provider: "0x",
  dataset_id: 5, algorithm_id: 4, deadline: Number(NOW + 3600n), tx_hash: null, ...over,
});

describe("a new job's deadline", () => {
  it("counts from the chain's clock, which may be days ahead of the browser's", () => {
    const chainNow = BigInt(Math.floor(Date.now() / 1000)) + 3n * 86400n;
    expect(jobDeadline(chainNow, 24)).toBe(chainNow + 86400n);
    expect(jobDeadline(NOW, 0.5, 7n * 86400n)).toBe(NOW + 1800n);
  });

  it("refuses what the market would refuse", () => {
    expect(() => jobDeadline(NOW, 0)).toThrow(/positive number of hours/);
    expect(() => jobDeadline(NOW, Number.NaN)).toThrow(/positive/);
    expect(() => jobDeadline(NOW, 24 * 8, 7n * 86400n)).toThrow(/up to 168 hours/);
  });
});

describe("a job's status", () => {
  it("follows the provider while the escrow is open", () => {
    expect(jobView(chainJob({}), null, NOW)).toMatchObject({ key: "open", following: true, canCancel: true });
    expect(jobView(chainJob({}), gatewayJob({ status: "queued" }), NOW)).toMatchObject({ key: "queued", following: true, canCancel: true });
    expect(jobView(chainJob({ status: 2 }), gatewayJob({ status: "running" }), NOW)).toMatchObject({ key: "running", text: "running at the provider…", canCancel: false });
    expect(jobView(chainJob({}), gatewayJob({ status: "failed", reason: "deadline too close" }), NOW).text)
      .toBe("failed — deadline too close (the provider declines it: your escrow is credited back)");
    expect(jobView(chainJob({ deadline: NOW - 1n }), null, NOW)).toMatchObject({ key: "expired", following: false, canCancel: false });
  });

  it("is accepted once the provider locked its collateral: no cancelling then", () => {
    expect(jobView(chainJob({ status: 2 }), null, NOW)).toMatchObject({ key: "accepted", following: true, canCancel: false });
    expect(jobView(chainJob({ status: 2 }), gatewayJob({ status: "accepted" }), NOW)).toMatchObject({ key: "accepted", canCancel: false });
    expect(jobView(chainJob({ status: 2, deadline: NOW - 1n }), null, NOW).text).toMatch(/collateral are credited to you/);
  });

  it("has a result once posted, and can be finalized after the challenge window", () => {
    const posted = chainJob({ status: 3, challengeEnd: NOW + 86400n, resultHash: HASH });
    const gateway = gatewayJob({ status: "submitted", result_hash: HASH, result_cid: "bafy" });
    expect(jobView(posted, gateway, NOW)).toMatchObject({
      key: "submitted", hasResult: true, canFinalize: false, following: false,
      text: "result posted — challenge window until 2027-01-16 08:00:00 UTC",
    });
    expect(jobView(posted, gateway, NOW + 86400n)).toMatchObject({ canFinalize: true, text: "result posted — challenge window over, ready to finalize" });
    expect(jobView(posted, null, NOW + 86400n)).toMatchObject({ hasResult: false, canFinalize: true });
    expect(jobView({ ...posted, status: 5 }, gateway, NOW)).toMatchObject({ key: "finalized", hasResult: true, canFinalize: false });
    expect(jobView({ ...posted, status: 6 }, gatewayJob({ status: "failed", reason: "deadline too close" }), NOW).text).toBe("refunded — deadline too close (credited: withdraw it below)");
  });

  it("may be disputed (with a bond) inside the challenge window, expired after a missed deadline", () => {
    const posted = chainJob({ status: 3, challengeEnd: NOW + 86400n, resultHash: HASH });
    expect(jobView(posted, null, NOW)).toMatchObject({ canDispute: true, canFinalize: false, canExpire: false });
    expect(jobView(posted, null, NOW + 86401n)).toMatchObject({ canDispute: false, canFinalize: true });
    expect(jobView({ ...posted, status: 4 }, null, NOW)).toMatchObject({ key: "disputed", canDispute: false, canExpire: false });
    expect(jobView(chainJob({ deadline: NOW - 1n }), null, NOW)).toMatchObject({ canExpire: true, canDispute: false });
    expect(jobView(chainJob({ status: 2, deadline: NOW - 1n }), null, NOW)).toMatchObject({ canExpire: true });
    expect(jobView(chainJob({}), null, NOW)).toMatchObject({ canExpire: false });
    expect(disputeBond(9n * 10n ** 18n, 10n ** 18n, 1000)).toBe(10n ** 18n);
    expect(disputeBond(7n, 0n, 0)).toBe(0n);
  });

  it("shows a run that failed after acceptance with its reason and its report as the result", () => {
    const posted = chainJob({ status: 3, challengeEnd: NOW + 86400n, resultHash: HASH });
    const failed = gatewayJob({ status: "failed", reason: "exited with code 1", result_hash: HASH });
    expect(jobView(posted, failed, NOW)).toMatchObject({ key: "failed", hasResult: true, text: "result posted — the run failed: exited with code 1 — challenge window until 2027-01-16 08:00:00 UTC" });
  });
});

describe("a job's result", () => {
  it("is shown as text when it is small UTF-8", () => {
    expect(resultText(new TextEncoder().encode("rows=48 mean_temp_c=15.38\n"))).toBe("rows=48 mean_temp_c=15.38\n");
    expect(resultText(new TextEncoder().encode("température ✓"))).toBe("température ✓");
  });

  it("is not when it is binary or large", () => {
    expect(resultText(new Uint8Array([0xff, 0xfe, 0x00]))).toBeNull();
    expect(resultText(new Uint8Array([0x50, 0x4b, 0x03, 0x04]))).toBeNull();
    expect(resultText(new Uint8Array(70 * 1024).fill(0x41))).toBeNull();
  });
});
