// Compute jobs as the compute page shows them: the deadline a new job asks for (by the chain's
// clock, not the browser's alone), a job's status joined from the ComputeMarket (money: open,
// accepted, submitted, finalized, refunded) and the provider's gateway (progress: queued,
// running, failed and why), the next step it offers (cancel before the provider accepted,
// finalize after the challenge window), and its result as text. Pure functions: the page
// reads, these decide.
import type { ComputeJob } from "./api";
import { formatTimestamp } from "./format";

/** IComputeMarket.JobStatus */
export const JOB_OPEN = 1;
export const JOB_ACCEPTED = 2;
export const JOB_SUBMITTED = 3;
export const JOB_DISPUTED = 4;
export const JOB_FINALIZED = 5;
export const JOB_REFUNDED = 6;

/**
 * The `deadline` for createJob: `hours` after `chainNow`, the time the transaction will see
 * (`transactionTime`). The market compares it with `block.timestamp`, which need not be the
 * browser's clock (a dev chain moved forward, a computer clock running late), so a deadline
 * from `Date.now()` alone can be already past.
 */
export function jobDeadline(chainNow: bigint, hours: number, maxJobDuration?: bigint): bigint {
  if (!Number.isFinite(hours) || hours <= 0) throw new RangeError("The deadline must be a positive number of hours.");
  const seconds = BigInt(Math.round(hours * 3600));
  if (maxJobDuration !== undefined && seconds > maxJobDuration) {
    throw new RangeError(`The market allows deadlines up to ${Number(maxJobDuration) / 3600} hours from now.`);
  }
  return chainNow + seconds;
}

/** What getJob returns that the page uses. */
export interface ChainJob {
  status: number;
  deadline: bigint;
  challengeEnd: bigint;
  resultHash: `0x${string}`;
}

export type JobKey = "open" | "queued" | "accepted" | "running" | "failed" | "expired" | "submitted" | "disputed" | "finalized" | "refunded";

export interface JobView {
  key: JobKey;
  text: string;
  /** still moving without anyone acting: worth polling */
  following: boolean;
  /** the provider has a result the buyer can read */
  hasResult: boolean;
  /** the challenge window is over: anyone may finalize (pays provider and dataset) */
  canFinalize: boolean;
  /** the provider has not accepted yet: the buyer may call the job off (escrow credited back) */
  canCancel: boolean;
  /** a result is posted and the challenge window is open: the buyer may dispute (with a bond) */
  canDispute: boolean;
  /** the deadline passed without a result: anyone may expire it (the buyer is credited) */
  canExpire: boolean;
}

/** One job's status in words, from the chain and (when signed in) the provider's gateway. */
export function jobView(chain: ChainJob, gateway: ComputeJob | null, now: bigint): JobView {
  const base = { following: false, hasResult: false, canFinalize: false, canCancel: false, canDispute: false, canExpire: false };
  const hasResult = !!gateway?.result_hash;
  // a run that failed after acceptance: its failure report is the result posted on chain
  const failedRun = gateway?.status === "failed" && hasResult ? ` — the run failed: ${gateway.reason ?? "no reason given"}` : "";
  switch (chain.status) {
    case JOB_FINALIZED:
      return { ...base, key: "finalized", text: "finalized — provider and dataset paid", hasResult };
    case JOB_REFUNDED:
      return { ...base, key: "refunded", text: `${gateway?.reason ? `refunded — ${gateway.reason}` : "refunded"} (credited: withdraw it below)` };
    case JOB_DISPUTED:
      return { ...base, key: "disputed", text: "disputed — waiting for the arbiter", hasResult };
    case JOB_SUBMITTED:
      return now >= chain.challengeEnd
        ? { ...base, key: failedRun ? "failed" : "submitted", text: `result posted${failedRun} — challenge window over, ready to finalize`, hasResult, canFinalize: true }
        : { ...base, key: failedRun ? "failed" : "submitted", text: `result posted${failedRun} — challenge window until ${formatTimestamp(chain.challengeEnd)}`, hasResult, canDispute: true };
    case JOB_OPEN:
    case JOB_ACCEPTED:
      break;
    default:
      return { ...base, key: "open", text: `status ${chain.status}` };
  }
  const accepted = chain.status === JOB_ACCEPTED;
  if (now > chain.deadline) {
    return { ...base, key: "expired", canExpire: true, text: accepted ? "deadline passed without a result — expire it: your escrow and the provider's collateral are credited to you" : "deadline passed, never accepted — expire it: your escrow is credited back" };
  }
  const canCancel = !accepted;
  switch (gateway?.status) {
    case "failed":
      // declined before acceptance (free): the refund is on its way
      return { ...base, key: "failed", text: `failed — ${gateway.reason ?? "no reason given"} (the provider declines it: your escrow is credited back)`, following: true };
    case "running":
      return { ...base, key: "running", text: "running at the provider…", following: true };
    case "submitted":
      return { ...base, key: "submitted", text: "result computed — posting it on chain…", following: true };
    case "queued":
      return { ...base, key: "queued", text: "queued at the provider…", following: true, canCancel };
    default:
      break;
  }
  if (accepted) return { ...base, key: "accepted", text: "accepted — the provider locked its collateral and runs the job", following: true };
  return { ...base, key: "open", text: "open — escrowed, waiting for the provider to accept", following: true, canCancel };
}

const MAX_TEXT_BYTES = 64 * 1024;

/** The result as text when it is a small UTF-8 file; null when it is binary or large. */
export function resultText(bytes: Uint8Array): string | null {
  if (bytes.length > MAX_TEXT_BYTES) return null;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return /[\u0000-\u0008\u000e-\u001f]/.test(text) ? null : text;
  } catch {
    return null;
  }
}

/** What `dispute` takes from the buyer: `disputeBondBps` of the job's price (provider fee +
 *  data fee) under the params the job was created with (ComputeMarket._bond). */
export function disputeBond(providerFee: bigint, dataFee: bigint, disputeBondBps: number | bigint): bigint {
  return ((providerFee + dataFee) * BigInt(disputeBondBps)) / 10_000n;
}
