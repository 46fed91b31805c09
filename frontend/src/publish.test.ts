import { describe, expect, it } from "vitest";
import vectors from "../../docs/ddx1-vectors.json";
import { checkForm, metadataDocument, parseRecoveryKey, parseTags, PublishInputError, sealingRecipients } from "./publish";
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
      ...form, tags: ["rain"], files: [{ path: "rain.csv", size: 5, sha256: "ab".repeat(32) }], size: 5,
      sealedKeys: [{ gateway_public_key: "K", sealed_key: "S" }], segmentSize: 65536, createdAt: new Date("2026-01-02T03:04:05.678Z"),
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

describe("several gateways and a recovery key (docs/ddx1-vectors.json publish_metadata)", () => {
  const vector = vectors.publish_metadata;

  it("writes the document `datadao publish --gateway THIS --provider P` writes with a recovery key", () => {
    const recovery = parseRecoveryKey(vector.recovery_show);
    const recipients = sealingRecipients(vector.chosen_gateway_keys, recovery);
    const sealed = vector.sealed as Record<string, string>;
    const document = metadataDocument({
      ...vector.form, kind: "dataset", tags: parseTags(vector.form.tags),
      files: [{ path: vector.file.name, size: vector.file.size, sha256: vector.file.sha256 }], size: vector.file.size,
      sealedKeys: recipients.map((key) => ({ gateway_public_key: key, sealed_key: sealed[key]! })),
      segmentSize: 65536, createdAt: new Date(vector.created_at),
    });
    const python = JSON.parse(vector.document) as Record<string, unknown>;
    // the gateway stores the canonical form: the same moment, written "Z" there
    expect(new Date(document.created_at as string).getTime()).toBe(new Date(python.created_at as string).getTime());
    expect({ ...document, created_at: python.created_at }).toEqual(python);
    expect(recipients.at(-1)).toBe(recovery); // the recovery key last, each key once
    expect(recipients).toHaveLength(3);
  });

  it("reads the recovery key from what the CLI shows, and refuses anything else in one line", () => {
    const key = vector.recovery_show.split(" ")[0]!;
    expect(parseRecoveryKey(`  ${vector.recovery_show}\n`)).toBe(key);
    expect(parseRecoveryKey(JSON.stringify({ public_key: key, path: "/x" }))).toBe(key);
    expect(parseRecoveryKey(key)).toBe(key);
    expect(parseRecoveryKey("   ")).toBeNull();
    expect(() => parseRecoveryKey("not-a-key (/x)")).toThrow(PublishInputError);
    expect(() => parseRecoveryKey(key.slice(4))).toThrow("32-byte");
    expect(sealingRecipients(["A", "B"], null)).toEqual(["A", "B"]);
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
