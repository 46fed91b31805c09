import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import vectors from "../../docs/ddx1-vectors.json";
import { folderFiles, FolderNotPackable, packFolder } from "./packing";

// docs/ddx1-vectors.json "packing": a folder as dapp/packing.py packs it (tools/ddx1_vectors.py).
const hex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (b) => parseInt(b, 16));
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const blob = (bytes: Uint8Array) => new Blob([bytes as BlobPart]);

describe("a folder packed in the browser", () => {
  const files = Object.entries(vectors.packing.files).map(([path, data]) => ({ path, file: blob(hex(data)) }));

  it("is the tar dapp/packing.py writes, byte for byte, whatever order the files come in", async () => {
    for (const order of [files, [...files].reverse()]) {
      const packed = packFolder(order);
      const bytes = new Uint8Array(await packed.blob.arrayBuffer());
      expect(packed.size).toBe(vectors.packing.packed_size);
      expect(bytes.length).toBe(packed.size);
      expect(Buffer.from(bytes).toString("hex")).toBe(vectors.packing.packed);
      expect(sha(bytes)).toBe(vectors.packing.packed_sha256);
      expect(packed.files.map((f) => [f.path, f.size])).toEqual(vectors.packing.listed.map((f) => [f.path, f.size]));
    }
  });

  it("leaves long, non-ASCII and odd names to the CLI", () => {
    const one = blob(new Uint8Array(1));
    expect(() => packFolder([{ path: `${"x".repeat(101)}`, file: one }])).toThrow(FolderNotPackable);
    expect(() => packFolder([{ path: "café.csv", file: one }])).toThrow(FolderNotPackable);
    expect(() => packFolder([{ path: "a/../b", file: one }])).toThrow(FolderNotPackable);
    expect(() => packFolder([])).toThrow(FolderNotPackable);
  });

  it("takes paths inside the picked folder", () => {
    const file = Object.assign(new File([new Uint8Array(2)], "b.bin"), { webkitRelativePath: "rain/sub/b.bin" });
    expect(folderFiles([file]).map((f) => f.path)).toEqual(["sub/b.bin"]);
  });
});
