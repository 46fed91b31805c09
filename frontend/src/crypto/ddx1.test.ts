import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import vectors from "../../../docs/ddx1-vectors.json";
import { ciphertextSize, decryptBytes, Ddx1Error, encryptBlob } from "./ddx1";
import { openSealed, seal, SealedBoxError } from "./sealedbox";
import { x25519 } from "@noble/curves/ed25519";

// docs/ddx1-vectors.json is written by tools/ddx1_vectors.py from dapp/crypto (Python) and
// checked there by tests/dapp/test_ddx1_vectors.py: equal bytes here mean each side decrypts
// what the other encrypted.
const hex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** tools/ddx1_vectors.py `_fixed`: SHA-256 of "label/counter", repeated. */
function fixed(label: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let at = 0, counter = 0; at < size; counter++, at += 32) {
    const block = createHash("sha256").update(`${label}/${counter}`).digest();
    out.set(block.subarray(0, Math.min(32, size - at)), at);
  }
  return out;
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return new Uint8Array(Buffer.concat(parts));
}

type SegmentVector = (typeof vectors.segments)[number] & { plaintext?: string; ciphertext?: string };

describe("DDX1 vectors (docs/ddx1-vectors.json)", () => {
  for (const vector of vectors.segments as SegmentVector[]) {
    const plaintext = vector.plaintext !== undefined ? hex(vector.plaintext)
      : fixed(`${vector.name}/plaintext`, vector.plaintext_size);
    it(`encrypts ${vector.name} to the bytes Python writes`, async () => {
      expect(sha(plaintext)).toBe(vector.plaintext_sha256);
      const ciphertext = await collect(encryptBlob(new Blob([plaintext as BlobPart]), hex(vector.content_key),
        { segmentSize: vector.segment_size, salt: hex(vector.salt) }));
      expect(ciphertext.length).toBe(vector.ciphertext_size);
      expect(ciphertextSize(vector.plaintext_size, vector.segment_size)).toBe(vector.ciphertext_size);
      expect(sha(ciphertext)).toBe(vector.ciphertext_sha256);
      if (vector.ciphertext !== undefined) expect(toHex(ciphertext)).toBe(vector.ciphertext);
    });
    it(`decrypts ${vector.name} and refuses it altered`, async () => {
      const ciphertext = await collect(encryptBlob(new Blob([plaintext as BlobPart]), hex(vector.content_key),
        { segmentSize: vector.segment_size, salt: hex(vector.salt) }));
      expect(sha(await decryptBytes(hex(vector.content_key), ciphertext))).toBe(vector.plaintext_sha256);
      const flipped = ciphertext.slice();
      flipped[flipped.length - 1] ^= 1;
      await expect(decryptBytes(hex(vector.content_key), flipped)).rejects.toThrow(Ddx1Error);
      await expect(decryptBytes(hex(vector.content_key), ciphertext.slice(0, -1))).rejects.toThrow(Ddx1Error);
    });
  }

  for (const vector of vectors.sealed_keys) {
    it(`seals ${vector.name} to libsodium's bytes and opens it`, () => {
      const gatewayPublic = hex(vector.gateway_public_key);
      expect(toHex(x25519.getPublicKey(hex(vector.gateway_secret_key)))).toBe(vector.gateway_public_key);
      const sealed = seal(hex(vector.content_key), gatewayPublic, hex(vector.ephemeral_secret_key));
      expect(toHex(sealed)).toBe(vector.sealed);
      expect(toHex(openSealed(hex(vector.sealed), hex(vector.gateway_secret_key)))).toBe(vector.content_key);
      const random = seal(hex(vector.content_key), gatewayPublic);
      expect(toHex(openSealed(random, hex(vector.gateway_secret_key)))).toBe(vector.content_key);
      const other = x25519.utils.randomPrivateKey();
      expect(() => openSealed(random, other)).toThrow(SealedBoxError);
    });
  }
});
