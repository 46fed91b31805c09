import { describe, expect, it } from "vitest";
import { encodeErrorResult, getContractError, parseAbi, RawContractError, UserRejectedRequestError } from "viem";
import { ERC20_ERRORS, withErrors } from "./contracts";
import { ApiError, describeError, explainError, NotAvailableError, NotDeployedError, NotEnoughTokensError, words, WrongNetworkError } from "./errors";

const REGISTRY_ERRORS = parseAbi([
  "function buy(uint256 assetId, uint256 offerId, address licensee, address token, uint256 maxPrice, uint64 duration, uint8 scope) returns (uint64)",
  "error PriceAboveMax(uint256 price, uint256 maxPrice)",
  "error OfferTermsChanged(uint256 assetId, uint256 offerId)",
  "error OfferInactive(uint256 assetId, uint256 offerId)",
  "error StillUnbonding(uint64 availableAt)",
  "error NoOffers()",
  "error NotAssetOwner(uint256 assetId, address caller)",
  "error GrantExpired(uint64 expiresAt)",
]);
const ABI = withErrors(REGISTRY_ERRORS);
const DDT = { symbol: "DDT", decimals: 18 };

/** The error viem raises when a simulated call reverts with `errorName(args)`. */
function revert(errorName: string, args: readonly unknown[]) {
  const data = encodeErrorResult({ abi: ABI, errorName, args });
  return getContractError(new RawContractError({ data }), {
    abi: ABI,
    functionName: "buy",
    args: [1n, 1n, "0x0000000000000000000000000000000000000001", "0x0000000000000000000000000000000000000004", 10n, 0n, 0],
    address: "0x0000000000000000000000000000000000000002",
  });
}

describe("contract reverts in words", () => {
  it("price changed", () => {
    const explained = explainError(revert("PriceAboveMax", [12n * 10n ** 18n, 10n * 10n ** 18n]), DDT);
    expect(explained.kind).toBe("price-changed");
    expect(explained.message).toBe(
      "The price changed since you opened this offer, so nothing was bought. It now costs 12 DDT; you agreed to at most 10 DDT.",
    );
  });

  it("offer terms changed under a pending purchase", () => {
    const explained = explainError(revert("OfferTermsChanged", [1n, 2n]), DDT);
    expect(explained.kind).toBe("offer-changed");
    expect(explained.message).toContain("nothing was bought");
  });

  it("not enough tokens and allowance, from the token inside the registry call", () => {
    const sender = "0x0000000000000000000000000000000000000003";
    expect(explainError(revert("ERC20InsufficientBalance", [sender, 3n * 10n ** 18n, 10n * 10n ** 18n]), DDT)).toMatchObject({
      kind: "not-enough-tokens",
      message: "Not enough tokens: you have 3 DDT but this needs 10 DDT.",
    });
    expect(explainError(revert("ERC20InsufficientAllowance", [sender, 0n, 10n ** 18n]), DDT).kind).toBe("not-enough-allowance");
    expect(ERC20_ERRORS.length).toBeGreaterThan(3);
  });

  it("any other custom error by its name", () => {
    expect(explainError(revert("NoOffers", [])).message).toBe("The contract refused the transaction: no offers.");
    expect(words("StillUnbonding")).toBe("still unbonding");
    expect(words("ERC20InsufficientBalance")).toBe("erc20 insufficient balance");
  });

  it("the registry's refusals of an owner's call, naming the asset and offer", () => {
    expect(explainError(revert("OfferInactive", [1n, 2n])).message).toBe("Offer #2 of asset #1 is paused: nothing is sold on it now.");
    expect(explainError(revert("NotAssetOwner", [7n, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]))).toMatchObject({
      kind: "reverted",
      message: "Only the owner of asset #7 may do that; this account does not own it.",
      hint: "Switch to the owner's account (a DataDAO's asset changes by a members' vote).",
    });
    expect(describeError(revert("GrantExpired", [5n]))).toBe("The grant's end has already passed on chain. Pick a later date.");
  });

  it("a balance checked before the wallet opens", () => {
    const error = new NotEnoughTokensError(1n * 10n ** 18n, 10n * 10n ** 18n, DDT);
    expect(explainError(error)).toMatchObject({ kind: "not-enough-tokens", message: "Not enough tokens: you have 1 DDT but this needs 10 DDT." });
  });
});

describe("wallet errors in words", () => {
  it("rejected, as an EIP-1193 code or viem's error", () => {
    const words = "You rejected the request in your wallet. Nothing was signed or sent.";
    expect(explainError({ code: 4001, message: "User rejected the request." }).message).toBe(words);
    expect(explainError(new UserRejectedRequestError(new Error("no"))).kind).toBe("rejected");
    expect(explainError({ message: "outer", cause: { data: { originalError: { code: 4001 } } } }).kind).toBe("rejected");
  });

  it("other provider codes and wrong network", () => {
    expect(explainError({ code: -32002 }).kind).toBe("request-pending");
    expect(explainError({ code: 4902 }).kind).toBe("unknown-chain");
    expect(explainError(new WrongNetworkError(1337, 1)).message).toMatch(/wrong network \(chain 1\).*chain 1337/);
    expect(explainError(new Error("insufficient funds for gas * price + value")).kind).toBe("not-enough-gas");
  });
});

describe("gateway errors", () => {
  it("problem+json detail and hint as one line", () => {
    const error = new ApiError(403, "account 0xabc has no download license for asset 1", "https://x/problems/not-licensed", "buy a license first");
    expect(describeError(error)).toBe("Account 0xabc has no download license for asset 1. buy a license first");
    expect(error.code).toBe("not-licensed");
  });

  it("calm notices for what is not there yet", () => {
    expect(explainError(new NotAvailableError("The catalog")).kind).toBe("not-available");
    expect(explainError(new NotDeployedError("DataDAO")).message).toBe("DataDAO is not deployed on this network yet.");
    expect(explainError(new ApiError(0, "Could not reach the gateway.", "network")).kind).toBe("network");
  });
});
