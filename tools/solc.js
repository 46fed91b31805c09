#!/usr/bin/env node
// A native-`solc`-compatible CLI over solcjs (npm `solc`), for Brownie / py-solc-x.
// Supports: --version, --standard-json (input on stdin), --allow-paths / --base-path /
// --include-path (all become roots for import resolution). Nothing is downloaded.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

function parseArgs(argv) {
  const roots = [];
  const flags = new Set();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] = arg.split(/=(.*)/s, 2);
    if (['--allow-paths', '--base-path', '--include-path'].includes(name)) {
      const value = inline !== undefined ? inline : argv[++i];
      for (const p of (value || '').split(',')) if (p) roots.push(path.resolve(p));
    } else {
      flags.add(name);
    }
  }
  return { roots, flags };
}

function versionText() {
  const long = solc.version().replace('.Emscripten.clang', '.Linux.g++');
  return `solc, the solidity compiler commandline interface\nVersion: ${long}\n`;
}

function makeImportResolver(roots) {
  return (importPath) => {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : roots.concat([process.cwd()]).map((root) => path.join(root, importPath));
    for (const candidate of candidates) {
      if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, 'utf8') };
    }
    return { error: `File not found: ${importPath} (searched ${candidates.join(', ')})` };
  };
}

function writeAll(fd, text) {
  // Synchronous, EAGAIN-tolerant write: a piped stdout must never be cut short.
  const buffer = Buffer.from(text, 'utf8');
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += fs.writeSync(fd, buffer, offset, buffer.length - offset);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
    }
  }
}

function main() {
  const { roots, flags } = parseArgs(process.argv.slice(2));
  if (flags.has('--version')) {
    writeAll(1, versionText());
    return 0;
  }
  if (flags.has('--standard-json')) {
    const input = fs.readFileSync(0, 'utf8');
    const output = solc.compile(input, { import: makeImportResolver(roots) });
    writeAll(1, output + '\n');
    return 0;
  }
  writeAll(2, 'usage: solc --version | solc --standard-json [--allow-paths P] [--base-path P] < input.json\n');
  return 2;
}

process.exitCode = main();
