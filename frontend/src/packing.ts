// A folder packed in the browser as dapp/packing.py packs it: a tar with entries sorted by path
// (parents first), mtime 0, uid/gid 0, no user or group names, mode 0644 for files and 0755 for
// folders, POSIX ustar headers, no record padding past the two zero blocks. Only names that need
// no pax record (ASCII, at most 100 bytes) and files under 8 GiB are packed here; anything else
// is for the CLI. The result is a Blob of headers and the Files themselves: nothing is read
// into memory until it is encrypted.
const BLOCK = 512;
const MAX_OCTAL_SIZE = 8 ** 11;

export class FolderNotPackable extends Error {}

export interface FolderFile {
  /** '/'-separated path inside the folder (without the folder's own name) */
  path: string;
  file: Blob;
}

export interface PackedFolder {
  blob: Blob;
  size: number;
  files: { path: string; size: number; file: Blob }[];
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

export function tarHeader(name: string, size: number, isDir: boolean): Uint8Array {
  const header = new Uint8Array(BLOCK);
  const put = (text: string, at: number) => {
    for (let i = 0; i < text.length; i++) header[at + i] = text.charCodeAt(i);
  };
  put(name, 0);
  put(octal(isDir ? 0o755 : 0o644, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(isDir ? 0 : size, 12), 124);
  put(octal(0, 12), 136);
  put("        ", 148);
  put(isDir ? "5" : "0", 156);
  put("ustar\x0000", 257);
  const checksum = header.reduce((sum, byte) => sum + byte, 0);
  put(`${checksum.toString(8).padStart(6, "0")}\0`, 148);
  return header;
}

function checkName(name: string): void {
  if (name.length > 100 || !/^[\x20-\x7e]+$/.test(name)) {
    throw new FolderNotPackable(`"${name}" needs a long or non-ASCII name record: publish this folder with the CLI (datadao publish FOLDER).`);
  }
}

function comparePaths(a: string, b: string): number {
  const left = a.split("/");
  const right = b.split("/");
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    if (left[i] !== right[i]) return left[i]! < right[i]! ? -1 : 1;
  }
  return left.length - right.length;
}

/** The deterministic tar of `files` (empty folders cannot be seen by a browser: none). */
export function packFolder(files: FolderFile[]): PackedFolder {
  if (!files.length) throw new FolderNotPackable("The folder has no files.");
  const directories = new Set<string>();
  const seen = new Set<string>();
  for (const { path, file } of files) {
    const parts = path.split("/");
    if (parts.some((part) => part === "" || part === "." || part === "..")) {
      throw new FolderNotPackable(`"${path}" is not a plain relative path.`);
    }
    if (seen.has(path)) throw new FolderNotPackable(`"${path}" appears twice.`);
    seen.add(path);
    if (file.size >= MAX_OCTAL_SIZE) throw new FolderNotPackable(`"${path}" is 8 GiB or more: use the CLI.`);
    checkName(path);
    for (let i = 1; i < parts.length; i++) directories.add(parts.slice(0, i).join("/"));
  }
  for (const directory of directories) checkName(`${directory}/`);
  const entries: { name: string; file: Blob | null }[] = [
    ...[...directories].map((name) => ({ name, file: null })),
    ...files.map(({ path, file }) => ({ name: path, file })),
  ].sort((a, b) => comparePaths(a.name, b.name));
  const parts: BlobPart[] = [];
  let size = 0;
  for (const { name, file } of entries) {
    const header = tarHeader(file ? name : `${name}/`, file?.size ?? 0, !file);
    parts.push(header as BlobPart);
    size += BLOCK;
    if (file) {
      parts.push(file);
      const pad = -file.size & (BLOCK - 1);
      if (pad) parts.push(new Uint8Array(pad) as BlobPart);
      size += file.size + pad;
    }
  }
  parts.push(new Uint8Array(2 * BLOCK) as BlobPart);
  size += 2 * BLOCK;
  const packed = entries.filter((entry) => entry.file).map(({ name, file }) => ({ path: name, size: file!.size, file: file! }));
  return { blob: new Blob(parts), size, files: packed };
}

/** The folder's files from an `<input webkitdirectory>` (paths start with the folder's name). */
export function folderFiles(list: ArrayLike<File>): FolderFile[] {
  return Array.from(list, (file) => {
    const relative = (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name;
    return { path: relative.split("/").slice(1).join("/") || file.name, file };
  });
}
