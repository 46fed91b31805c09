import { describe, expect, it } from "vitest";
import { PERPETUAL, licenceTokenId, splitTokenId, tokenMode, transferRefusal, type TransferCheck } from "./licencetokens";

const HOLDER = "0x1111111111111111111111111111111111111111";
const OTHER = "0x2222222222222222222222222222222222222222";
const base: TransferCheck = { from: HOLDER, to: OTHER, transferableEnd: 5000n, boundEnd: 0n, now: 1000n, assetId: 7n, scope: "download" };

describe("licence token ids", () => {
  it("pack asset, scope and transferable as the contract does", () => {
    expect(licenceTokenId(7n, 0, false)).toBe(28n);
    expect(licenceTokenId(7n, 1, true)).toBe(31n);
    expect(splitTokenId(31n)).toEqual({ assetId: 7n, scope: 1, transferable: true });
    expect(splitTokenId(licenceTokenId(2n ** 200n, 0, true))).toEqual({ assetId: 2n ** 200n, scope: 0, transferable: true });
  });

  it("name the owner's choice", () => {
    expect(tokenMode({ enabled: false, transferable: true })).toBe("off");
    expect(tokenMode({ enabled: true, transferable: true })).toBe("transferable");
    expect(tokenMode({ enabled: true, transferable: false })).toBe("bound");
  });
});

describe("transferRefusal", () => {
  it("lets a held, running, transferable token go to another address", () => {
    expect(transferRefusal(base)).toBeNull();
    expect(transferRefusal({ ...base, transferableEnd: PERPETUAL, now: 10n ** 12n })).toBeNull();
    expect(transferRefusal({ ...base, to: ` ${OTHER.toUpperCase().replace("0X", "0x")} ` })).toBeNull();
  });

  it.each([
    ["a short address", { to: "0x1234" }, "must be an address"],
    ["a name", { to: "bob" }, "must be an address"],
    ["the zero address", { to: "0x0000000000000000000000000000000000000000" }, "not the zero address"],
    ["the holder itself", { to: HOLDER.toUpperCase().replace("0X", "0x") }, "your own address"],
    ["a bound token", { transferableEnd: 0n, boundEnd: 5000n }, "bound to your address: its offer does not allow transfers"],
    ["no token", { transferableEnd: 0n }, "You hold no download licence token of asset #7"],
    ["an expired token", { transferableEnd: 1000n }, "has expired"],
  ] as const)("refuses %s", (_name, change, words) => {
    expect(transferRefusal({ ...base, ...change })).toContain(words);
  });
});
