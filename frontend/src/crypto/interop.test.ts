import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decryptBytes, encryptBlob } from "./ddx1";
import { fromBase64, openSealed, seal, toBase64 } from "./sealedbox";

// Random round trips with the Python implementation itself (dapp/crypto), run as a subprocess:
// Python decrypts what this code encrypted and opens what it sealed, and the other way round.
const repo = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");
const python = join(repo, ".venv", "bin", "python");
const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function runPython(code: string, dir: string): string {
  return execFileSync(python, ["-c", code, dir], {
    cwd: repo, env: { ...process.env, PYTHONPATH: repo }, encoding: "utf8", timeout: 60_000,
  }).trim();
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return new Uint8Array(Buffer.concat(parts));
}

describe.skipIf(!existsSync(python))("DDX1 and sealed keys with dapp/crypto (Python)", () => {
  it("Python decrypts what the browser code encrypted, and the other way round", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ddx1-interop-"));
    try {
      const plaintext = randomBytes(200_003);
      const key = randomBytes(32);
      writeFileSync(join(dir, "key"), key);
      writeFileSync(join(dir, "from-ts.ddx1"), await collect(encryptBlob(new Blob([plaintext]), key, { segmentSize: 4096 })));
      const out = runPython(`
import hashlib, os, sys
from pathlib import Path
from dapp.crypto.segments import decrypt_stream, encrypt_stream
d = Path(sys.argv[1]); key = (d / "key").read_bytes()
print(hashlib.sha256(b"".join(decrypt_stream(key, [(d / "from-ts.ddx1").read_bytes()]))).hexdigest())
data = os.urandom(131_073)
(d / "from-py.plain").write_bytes(data)
(d / "from-py.ddx1").write_bytes(b"".join(encrypt_stream(key, [data], len(data), 8192)))
`, dir);
      expect(out).toBe(sha(plaintext));
      const fromPython = await decryptBytes(key, new Uint8Array(readFileSync(join(dir, "from-py.ddx1"))));
      expect(sha(fromPython)).toBe(sha(new Uint8Array(readFileSync(join(dir, "from-py.plain")))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("Python opens a key sealed here to its gateway key, and this code opens Python's", () => {
    const dir = mkdtempSync(join(tmpdir(), "seal-interop-"));
    try {
      const made = runPython(`
import sys, base64
from pathlib import Path
from dapp.crypto.sealing import GatewayKeyPair, seal_key
pair = GatewayKeyPair.generate()
pair.save(Path(sys.argv[1]) / "gateway.key")
print(pair.public_key_b64, seal_key(b"k" * 32, pair.public_key_b64), base64.b64encode(bytes(pair._private_key)).decode())
`, dir);
      const [publicKey, sealedByPython, secret] = made.split(" ") as [string, string, string];
      expect(new TextDecoder().decode(openSealed(fromBase64(sealedByPython), fromBase64(secret)))).toBe("k".repeat(32));
      const contentKey = randomBytes(32);
      writeFileSync(join(dir, "sealed"), toBase64(seal(contentKey, fromBase64(publicKey))));
      const opened = runPython(`
import sys
from pathlib import Path
from dapp.crypto.sealing import GatewayKeyPair, open_sealed_key
d = Path(sys.argv[1])
print(open_sealed_key((d / "sealed").read_text(), GatewayKeyPair.load(d / "gateway.key")).hex())
`, dir);
      expect(opened).toBe(Buffer.from(contentKey).toString("hex"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
