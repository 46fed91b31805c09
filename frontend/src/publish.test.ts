import { describe, expect, it } from "vitest";
import { checkForm, metadataDocument, parseTags, PublishInputError } from "./publish";
import { UPLOAD_CHUNK, rechunk } from "./upload";

const form = { title: "Rain", description: "", kind: "dataset" as const, tags: "", license: "CC-BY-4.0" };

describe("publish form", () => {
  it("reads tags as the metadata wants them", () => {
    expect(parseTags(" Rain, weather ,rain,")).toEqual(["rain", "weather"]);
    expect(() => parseTags("two words")).toThrow(PublishInputError);
  });

  it("refuses what the gateway would refuse, before any byte is encrypted", () => {
    const file = new File([new Uint8Array(3)], "rain.csv");
    expect(() => checkForm(form, null)).toThrow("Pick a file");
    expect(() => checkForm({ ...form, title: "  " }, file)).toThrow("title");
    expect(() => checkForm({ ...form, license: "" }, file)).toThrow("license");
    expect(() => checkForm(form, file)).not.toThrow();
  });

  it("describes one encrypted file as dapp/metadata.py does", () => {
    const document = metadataDocument({
      ...form, tags: ["rain"], files: [{ path: "rain.csv", size: 5, sha256: "ab".repeat(32) }], size: 5, gatewayPublicKey: "K",
      sealedKey: "S", segmentSize: 65536, createdAt: new Date("2026-01-02T03:04:05.678Z"),
    });
    expect(document).toMatchObject({
      schema: "datadao/asset-metadata@1", size: 5,
      files: [{ path: "rain.csv", size: 5, sha256: "ab".repeat(32) }],
      content: { encrypted: true, cipher: "aes-256-gcm-ddx1", segment_size: 65536, plaintext_size: 5 },
      sealed_keys: [{ gateway_public_key: "K", sealed_key: "S" }],
      created_at: "2026-01-02T03:04:05+00:00",
    });
  });
});

describe("upload chunks", () => {
  it("regroups encrypted segments into upload chunks without losing a byte", async () => {
    async function* segments() {
      for (let i = 0; i < 20; i++) yield new Uint8Array(65_552).fill(i);
    }
    const sizes: number[] = [];
    let total = 0;
    for await (const chunk of rechunk(segments(), UPLOAD_CHUNK)) {
      sizes.push(chunk.length);
      total += chunk.length;
    }
    expect(total).toBe(20 * 65_552);
    expect(sizes.slice(0, -1).every((size) => size === UPLOAD_CHUNK)).toBe(true);
  });
});
