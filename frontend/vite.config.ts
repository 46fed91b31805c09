import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The ABIs live in ../dapp/chain/abi (written by `make abi`); contracts.ts globs them at build time.
const repoRoot = fileURLToPath(new URL("..", import.meta.url));

export default defineConfig({
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    chunkSizeWarningLimit: 800,
  },
  server: { fs: { allow: [repoRoot] } },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
