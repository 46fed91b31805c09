// The helpers against a real EVM: ganache in-process with the contracts from Brownie's build
// (`make abi` compiles them): deploy the token and the registry, publish an asset with two
// offers, read it back, buy a licence with a signed permit and see the licence answer.
import { readFileSync } from "node:fs";
import ganache from "ganache";
import {
  createPublicClient,
  createWalletClient,
  custom,
  decodeEventLog,
  defineChain,
  getAddress,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
} from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assetRegistryAbi, testTokenAbi } from "./abis/index.js";
import { revertError } from "./errors.js";
import { permitAbi, permitTypedData } from "./permit.js";
import { buyArguments, buyWithPermitArguments, readAsset, readHasLicense, readOffer, type BuyTerms } from "./registry.js";

const BUILD = new URL("../../../../build/contracts/", import.meta.url);
/** Brownie writes the creation code without 0x. */
const bytecode = (name: string) => `0x${JSON.parse(readFileSync(new URL(`${name}.json`, BUILD), "utf8")).bytecode.replace(/^0x/, "")}` as Hex;
const DAY = 24n * 3600n;
const PRICE = 5n * 10n ** 18n;
const chain = defineChain({
  id: 1337,
  name: "ganache",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: ["http://127.0.0.1:0"] } },
});

let provider: ReturnType<typeof ganache.provider>;
let reader: PublicClient;
let wallet: WalletClient;
const keys = [generatePrivateKey(), generatePrivateKey()] as const;
const ownerAccount: PrivateKeyAccount = privateKeyToAccount(keys[0]);
const buyerAccount: PrivateKeyAccount = privateKeyToAccount(keys[1]);
const owner: Address = ownerAccount.address;
const buyer: Address = buyerAccount.address;
let registry: Address;
let token: Address;
let assetId: bigint;

async function deploy(abi: typeof testTokenAbi | typeof assetRegistryAbi, name: string, args: readonly unknown[]) {
  const hash = await wallet.deployContract({ abi, bytecode: bytecode(name), args, account: ownerAccount, chain } as never);
  const receipt = await reader.waitForTransactionReceipt({ hash });
  return getAddress(receipt.contractAddress!);
}

beforeAll(async () => {
  provider = ganache.provider({
    // viem signs (local accounts): ganache only funds them
    wallet: {
      accounts: keys.map((secretKey) => ({ secretKey, balance: `0x${(10n ** 21n).toString(16)}` })),
    },
    chain: { hardfork: "shanghai", chainId: 1337 },
    miner: { blockGasLimit: 30_000_000 },
    logging: { quiet: true },
  });
  const transport = custom(provider);
  reader = createPublicClient({ chain, transport }) as PublicClient;
  wallet = createWalletClient({ chain, transport });
  token = await deploy(testTokenAbi, "TestToken", ["Dev Token", "DDT"]);
  registry = await deploy(assetRegistryAbi, "AssetRegistry", [owner, owner, 250, Number(3n * DAY), token, [token]]);
  await reader.waitForTransactionReceipt({
    hash: await wallet.writeContract({ address: token, abi: testTokenAbi, functionName: "mint", args: [buyer, 100n * PRICE], account: ownerAccount, chain }),
  });
  const digest = `0x${"11".repeat(32)}` as Hex;
  const receipt = await reader.waitForTransactionReceipt({
    hash: await wallet.writeContract({
      address: registry,
      abi: assetRegistryAbi,
      functionName: "publish",
      args: [0, { digest, codec: 0x55n }, { digest, codec: 0x55n }, 0, [
        { token, price: PRICE, duration: 30n * DAY, scope: 0 },
        { token, price: 2n * PRICE, duration: 7n * DAY, scope: 1 },
      ]],
      account: ownerAccount,
      chain,
    }),
  });
  const minted = receipt.logs
    .map((log) => { try { return decodeEventLog({ abi: assetRegistryAbi, ...log }); } catch { return null; } })
    .find((event) => event?.eventName === "Transfer");
  assetId = (minted!.args as { tokenId: bigint }).tokenId;
}, 60_000);

afterAll(async () => {
  await provider?.disconnect();
});

describe("registry helpers on a real chain", () => {
  it("readAsset names the kind and counts the offers", async () => {
    expect(await readAsset(reader, registry, assetId)).toEqual({
      id: assetId, kind: "dataset", retired: false, curatorShareBps: 0, versionCount: 1, offerCount: 2,
    });
  });

  it("readOffer gives typed terms with the scope by name", async () => {
    const offer = await readOffer(reader, registry, assetId, 2n);
    expect(offer).toMatchObject({ offerId: 2n, token, price: 2n * PRICE, duration: 7n * DAY, scope: "compute", active: true });
  });

  it("an unknown asset id is the registry's UnknownAsset revert, not a made-up asset", async () => {
    const error = await readAsset(reader, registry, 999n).catch((e: unknown) => e);
    expect(revertError(error, assetRegistryAbi)).toEqual({ errorName: "UnknownAsset", args: [999n] });
  });

  it("buyWithPermit with the built arguments gives the buyer the licence of that scope only", async () => {
    expect(await readHasLicense(reader, registry, assetId, buyer, "download")).toBe(false);
    const terms: BuyTerms = await readOffer(reader, registry, assetId, 1n);
    const nonce = await reader.readContract({ address: token, abi: permitAbi, functionName: "nonces", args: [buyer] });
    const [, name, version] = await reader.readContract({ address: token, abi: permitAbi, functionName: "eip712Domain" });
    const deadline = BigInt(Math.floor(Date.now() / 1000)) + 3600n;
    const signature = await wallet.signTypedData({
      account: buyerAccount,
      ...permitTypedData(
        { name, version, chainId: 1337, verifyingContract: token },
        { owner: buyer, spender: registry, value: terms.price, nonce, deadline },
      ),
    });
    const args = buyWithPermitArguments(assetId, terms, buyer, signature, deadline);
    const { request } = await reader.simulateContract({ address: registry, abi: assetRegistryAbi, functionName: "buyWithPermit", args, account: buyerAccount });
    await reader.waitForTransactionReceipt({ hash: await wallet.writeContract(request) });
    expect(await readHasLicense(reader, registry, assetId, buyer, "download")).toBe(true);
    expect(await readHasLicense(reader, registry, assetId, buyer, "compute")).toBe(false);
    expect(await readHasLicense(reader, registry, assetId, owner, 0)).toBe(false);
  });

  it("buy with other terms than the offer's (a front-run change) reverts OfferTermsChanged", async () => {
    const terms = { ...(await readOffer(reader, registry, assetId, 1n)), duration: 7n * DAY };
    const error = await reader
      .simulateContract({ address: registry, abi: assetRegistryAbi, functionName: "buy", args: buyArguments(assetId, terms, buyer), account: buyerAccount })
      .catch((e: unknown) => e);
    expect(revertError(error, assetRegistryAbi)?.errorName).toBe("OfferTermsChanged");
  });
});
