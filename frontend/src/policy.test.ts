import { describe, expect, it } from "vitest";
import { encodeErrorResult, getContractError, parseAbi, RawContractError } from "viem";
import { jobRefusal, pinText, policyText, resultCapText } from "./policy";

const REGISTRY = parseAbi([
  "function checkJob(uint256 datasetId, uint256 algorithmId, address buyer) view returns (uint32)",
  "error AlgorithmNotTrusted(uint256 datasetId, uint256 algorithmId)",
  "error NotLicensed(uint256 assetId, address account)",
  "error WrongAssetKind(uint256 assetId, uint8 kind)",
]);
const BUYER = "0x0000000000000000000000000000000000000006";

/** The error viem raises when the `checkJob` read call reverts with `errorName(args)`. */
function refused(errorName: "AlgorithmNotTrusted" | "NotLicensed" | "WrongAssetKind", args: readonly unknown[]) {
  const data = encodeErrorResult({ abi: REGISTRY, errorName, args } as Parameters<typeof encodeErrorResult>[0]);
  return getContractError(new RawContractError({ data }), {
    abi: REGISTRY, functionName: "checkJob", args: [7n, 3n, BUYER], address: "0x0000000000000000000000000000000000000002",
  });
}

describe("a job checkJob refuses, in one line", () => {
  it("an algorithm the dataset's owner has not listed", () => {
    expect(jobRefusal(refused("AlgorithmNotTrusted", [7n, 3n]), 7n, 3n)).toBe(
      "The owner of dataset #7 has not listed algorithm #3: only the algorithms its owner lists may run on it (see the dataset's page).");
  });

  it("no COMPUTE license on the algorithm, told apart from none on the dataset", () => {
    const onAlgorithm = jobRefusal(refused("NotLicensed", [3n, BUYER]), 7n, 3n);
    expect(onAlgorithm).toBe("You have no COMPUTE license on algorithm #3: buy one on its page (its owner is paid like any sale), then start the job.");
    const onDataset = jobRefusal(refused("NotLicensed", [7n, BUYER]), 7n, 3n);
    expect(onDataset).toBe("You have no COMPUTE license on dataset #7: buy one on its page, then start the job.");
  });

  it("a dataset id that is not a dataset", () => {
    expect(jobRefusal(refused("WrongAssetKind", [7n, 2]), 7n, 3n)).toBe("Asset #7 is not a dataset: a job runs an algorithm on a dataset.");
  });

  it("anything else falls back to the usual wording, on one line", () => {
    const text = jobRefusal(new Error("fetch failed"), 7n, 3n);
    expect(text).not.toContain("\n");
    expect(text.length).toBeGreaterThan(0);
  });
});

describe("a dataset's compute policy in words", () => {
  it("says what may run and the result cap", () => {
    expect(policyText({ any_algorithm: false, max_result_bytes: null, trusted_algorithms: [] })).toBe("no algorithm is listed yet: no job can run on it");
    expect(policyText({ any_algorithm: false, max_result_bytes: null, trusted_algorithms: [{ algorithm_id: 3, version: 0 }] })).toBe("only the algorithm listed below may run on it");
    expect(policyText({ any_algorithm: true, max_result_bytes: 2048, trusted_algorithms: [] })).toMatch(/^any algorithm/);
    expect(resultCapText({ any_algorithm: false, max_result_bytes: null, trusted_algorithms: [] })).toBe("the provider's own cap");
    expect(resultCapText({ any_algorithm: false, max_result_bytes: 2048, trusted_algorithms: [] })).toMatch(/^at most 2/);
    expect([pinText(0), pinText(2)]).toEqual(["latest version", "pinned to v2"]);
  });
});
