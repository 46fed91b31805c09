import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { checkedMetadata, cidText, ContentMismatchError, contentProblem, type DeclaredContent } from "./verify";

const sha = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");
const bytes = (text: string) => new TextEncoder().encode(text);

/** A tar as dapp/packing.py writes it (PAX format): a ustar header per entry, a PAX `x` record first for a long name. */
function tar(entries: { name: string; data?: Uint8Array; dir?: boolean }[]): Blob {
  const parts: Uint8Array[] = [];
  const header = (name: string, size: number, type: string) => {
    const block = new Uint8Array(512);
    block.set(bytes(name.slice(0, 99)), 0);
    block.set(bytes(`${size.toString(8).padStart(11, "0")}\0`), 124);
    block.set(bytes(type), 156);
    block.set(bytes("ustar\x0000"), 257);
    return block;
  };
  const padded = (data: Uint8Array) => {
    const out = new Uint8Array(Math.ceil(data.length / 512) * 512);
    out.set(data);
    return out;
  };
  for (const entry of entries) {
    if (entry.name.length > 99) {
      const body = ` path=${entry.name}\n`;
      let length = body.length + String(body.length).length;
      length = body.length + String(length).length;
      const record = `${length}${body}`;
      parts.push(header("././@PaxHeader", record.length, "x"), padded(bytes(record)));
    }
    const data = entry.data ?? new Uint8Array(0);
    parts.push(header(entry.name, data.length, entry.dir ? "5" : "0"), padded(data));
  }
  parts.push(new Uint8Array(1024));
  return new Blob(parts as BlobPart[]);
}

describe("metadata against the CID the chain names", () => {
  const document = bytes(JSON.stringify({ size: 3, content: { plaintext_size: 3 }, files: [{ path: "a.csv", size: 3, sha256: sha("abc") }] }));
  const onChain = { digest: `0x${sha(document)}`, codec: 0x55 };

  it("writes the CIDv1 text as dapp/ipfs/cid.py does", () => {
    // cid_from_chain(sha256(b'{"a":1}'), CODEC_RAW) in Python
    expect(cidText({ digest: `0x${sha('{"a":1}')}`, codec: 0x55 })).toBe("bafkreiablk6x6xgfpiw5ss3vsdyevwaiijzzaxxdh3c45pvomitwvf7ymi");
  });

  it("takes the declared files from the document the chain names", async () => {
    expect(await checkedMetadata(document, onChain, "asset 1 v1")).toEqual({ size: 3, files: [{ path: "a.csv", size: 3, sha256: sha("abc") }] });
  });

  it("refuses metadata a hostile gateway rewrote (its forged hashes never count)", async () => {
    const forged = bytes(JSON.stringify({ size: 6, content: { plaintext_size: 6 }, files: [{ path: "a.csv", size: 6, sha256: sha("forged") }] }));
    await expect(checkedMetadata(forged, onChain, "asset 1 v1")).rejects.toThrow(
      /the gateway sent metadata for asset 1 v1 that is not the bafkrei\w+ the chain names/,
    );
  });

  it("refuses a dag-pb metadata CID it cannot check in one block", async () => {
    await expect(checkedMetadata(document, { ...onChain, codec: 0x70 }, "asset 1 v1")).rejects.toBeInstanceOf(ContentMismatchError);
  });
});

describe("content against the declared hashes", () => {
  it("accepts the declared single file and refuses other bytes", async () => {
    const declared: DeclaredContent = { size: 3, files: [{ path: "a.csv", size: 3, sha256: sha("abc") }] };
    expect(await contentProblem(new Blob([bytes("abc")]), declared)).toBeNull();
    expect(await contentProblem(new Blob([bytes("abd")]), declared)).toBe(`it hashes to ${sha("abd")}, not the declared ${sha("abc")}`);
    expect(await contentProblem(new Blob([bytes("forged bytes")]), declared)).toBe("it is 12 bytes, not the 3 declared");
  });

  it("checks each member of a folder's tar, long (PAX) names too", async () => {
    const long = `deep/${"x".repeat(120)}.bin`;
    const one = bytes("one\n");
    const two = new Uint8Array(700).fill(7);
    const honest = tar([{ name: "deep", dir: true }, { name: "a.txt", data: one }, { name: long, data: two }]);
    const files = [{ path: "a.txt", size: one.length, sha256: sha(one) }, { path: long, size: two.length, sha256: sha(two) }];
    const declared = { size: honest.size, files };
    expect(await contentProblem(honest, declared)).toBeNull();

    const swapped = new Uint8Array(700).fill(8);
    const forged = tar([{ name: "deep", dir: true }, { name: "a.txt", data: one }, { name: long, data: swapped }]);
    expect(await contentProblem(forged, declared)).toBe(`${long} hashes to ${sha(swapped)}, not ${sha(two)}`);

    const extra = tar([{ name: "a.txt", data: one }, { name: "evil.sh", data: two }]);
    expect(await contentProblem(extra, { size: extra.size, files })).toBe('it holds "evil.sh", which the metadata does not list');
    const short = tar([{ name: "a.txt", data: one }]);
    expect(await contentProblem(short, { size: short.size, files })).toBe(`${long} is missing`);
  });
});
