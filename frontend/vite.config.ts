import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
// The ABIs and typed helpers: the @datadao/abi package in packages/abi, from its sources.
const abiPackage = fileURLToPath(new URL("./packages/abi/src/index.ts", import.meta.url));

export default defineConfig({
  base: "./",
  resolve: { alias: { "@datadao/abi": abiPackage } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    chunkSizeWarningLimit: 800,
  },
  server: { fs: { allow: [repoRoot] } },
  test: {
    include: ["src/**/*.test.ts", "packages/*/src/**/*.test.ts"],
    environment: "node",
  },
});
