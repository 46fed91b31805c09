// A dataset's compute policy in words (what its owner allows jobs to run, and the result cap),
// and why the registry's `checkJob(dataset, algorithm, buyer)` refuses a job, in one line: the
// compute page reads it before it sends `createJob`, so a refused job never reaches the wallet.
import type { ComputePolicy } from "./api";
import { describeError, errorChain, revertData } from "./errors";
import { formatBytes } from "./format";

/** "any algorithm may run" / "only the listed algorithms may run (2 listed)" / "no algorithm…". */
export function policyText(policy: ComputePolicy): string {
  if (policy.any_algorithm) return "any algorithm or model may run on it (the owner's choice)";
  const count = policy.trusted_algorithms.length;
  if (count === 0) return "no algorithm is listed yet: no job can run on it";
  return `only the algorithm${count === 1 ? "" : "s"} listed below may run on it`;
}

export function resultCapText(policy: ComputePolicy): string {
  return policy.max_result_bytes ? `at most ${formatBytes(policy.max_result_bytes)}` : "the provider's own cap";
}

/** "latest version" or "pinned to v3". */
export function pinText(version: number): string {
  return version === 0 ? "latest version" : `pinned to v${version}`;
}

/**
 * Why `checkJob(datasetId, algorithmId, buyer)` reverted, in one line. The registry's errors
 * name the asset: `NotLicensed(algorithmId, buyer)` means no COMPUTE license on the algorithm,
 * `NotLicensed(datasetId, buyer)` none on the dataset.
 */
export function jobRefusal(error: unknown, datasetId: bigint, algorithmId: bigint): string {
  const revert = revertData(errorChain(error));
  if (!revert) return describeError(error);
  const subject = typeof revert.args[0] === "bigint" ? revert.args[0] : null;
  const dataset = `dataset #${datasetId}`;
  const algorithm = `algorithm #${algorithmId}`;
  switch (revert.errorName) {
    case "AlgorithmNotTrusted":
      return `The owner of ${dataset} has not listed ${algorithm}: only the algorithms its owner lists may run on it (see the dataset's page).`;
    case "NotLicensed":
      return subject === algorithmId
        ? `You have no COMPUTE license on ${algorithm}: buy one on its page (its owner is paid like any sale), then start the job.`
        : `You have no COMPUTE license on ${dataset}: buy one on its page, then start the job.`;
    case "WrongAssetKind":
      return subject === datasetId
        ? `Asset #${datasetId} is not a dataset: a job runs an algorithm on a dataset.`
        : `Asset #${subject ?? algorithmId} is not an algorithm or a model.`;
    case "UnknownAsset":
      return `Asset #${subject ?? "?"} does not exist.`;
    case "AssetIsRetired":
      return `Asset #${subject ?? "?"} is retired: no new job can use it.`;
    default:
      return describeError(error);
  }
}
