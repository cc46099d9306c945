// A copy's bytes on their way to disk: written to a temporary file while its size and SHA-256
// are counted, and kept only when they are what was announced. Nothing half-written or corrupt
// ever takes the place of a stored copy.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { formatSize } from "../config.js";
import { CopyCorruptError, CopyRejectedError } from "./errors.js";
import {
  ALLOWED_COPY_TYPES,
  COPY_MEDIA_TYPES,
  type CopyMediaType,
  describeHead,
  SNIFF_BYTES,
  sniffCopyType,
} from "./media-type.js";

/** Size of the chunks a copy travels in. */
export const CHUNK_BYTES = 256 * 1024;

/** What `writeVerified` wrote: a temporary file, to be moved into place with `commitFile` or dropped. */
export interface VerifiedFile {
  readonly tempPath: string;
  readonly size: number;
  /** Lower-case hex. */
  readonly sha256: string;
  /** From the file's first bytes. */
  readonly mediaType: CopyMediaType;
}

export interface WriteVerifiedOptions {
  /** Where temporary files go (created if missing). */
  readonly tempDir: string;
  /** Larger is refused as soon as the stream passes it. */
  readonly maxBytes: number;
  /** The setting that sets `maxBytes`, named in the refusal. */
  readonly limitName?: string;
  /** The size the sender announced: a stream that ends short or runs long is refused. */
  readonly expectedSize?: number;
  /** The SHA-256 the sender announced (hex): other bytes are refused. */
  readonly expectedSha256?: string;
  /** The media type the sender announced: a file whose first bytes say otherwise is refused. */
  readonly expectedMediaType?: string;
}

/** A name of `size` bytes for messages: "52428800 bytes (52.4 MB)". */
function bytes(n: number): string {
  return n < 1000 ? `${n} bytes` : `${n} bytes (${formatSize(n)})`;
}

/** The refusal of a file larger than the limit: names the limit and the setting. */
export function tooLarge(size: number | string, maxBytes: number, limitName = "[ill] max_copy_size"): Error {
  const what = typeof size === "number" ? `is ${bytes(size)}` : size;
  return new CopyRejectedError(
    `the copy ${what}: larger than the limit of ${bytes(maxBytes)} (${limitName})`,
  );
}

/** The refusal of a file of another type: names the allowed ones. */
export function wrongType(head: Uint8Array): Error {
  return new CopyRejectedError(
    `the copy is ${describeHead(head)}, not a ${ALLOWED_COPY_TYPES} (told by its first bytes); scan it to one of those`,
  );
}

/**
 * Writes `chunks` to a new temporary file, counting size and SHA-256, and checks them and the
 * media type. Throws CopyRejectedError (too large, wrong type, longer than announced) or
 * CopyCorruptError (shorter than announced, another SHA-256); the temporary file is then
 * removed. The file is flushed to disk before this resolves.
 */
export async function writeVerified(
  chunks: AsyncIterable<Uint8Array>,
  o: WriteVerifiedOptions,
): Promise<VerifiedFile> {
  await mkdir(o.tempDir, { recursive: true });
  const tempPath = join(o.tempDir, `${Date.now()}-${randomBytes(6).toString("hex")}.part`);
  const fh = await open(tempPath, "wx");
  const hash = createHash("sha256");
  let size = 0;
  let head = new Uint8Array(0);
  let mediaType: CopyMediaType | undefined;
  const checkType = (): CopyMediaType => {
    const found = sniffCopyType(head);
    if (!found) throw wrongType(head);
    if (o.expectedMediaType && o.expectedMediaType !== found)
      throw new CopyRejectedError(
        `the copy was announced as ${o.expectedMediaType} but its first bytes are those of ${COPY_MEDIA_TYPES[found]} (${found})`,
      );
    return found;
  };
  try {
    for await (const chunk of chunks) {
      if (chunk.length === 0) continue;
      size += chunk.length;
      if (size > o.maxBytes) throw tooLarge(`is more than ${bytes(o.maxBytes)}`, o.maxBytes, o.limitName);
      if (o.expectedSize !== undefined && size > o.expectedSize)
        throw new CopyRejectedError(
          `the stream is longer than the ${bytes(o.expectedSize)} announced (got at least ${size})`,
        );
      if (mediaType === undefined) {
        const joined = new Uint8Array(head.length + chunk.length);
        joined.set(head);
        joined.set(chunk, head.length);
        head = joined.subarray(0, SNIFF_BYTES);
        if (head.length >= SNIFF_BYTES) mediaType = checkType();
      }
      hash.update(chunk);
      await fh.write(chunk);
    }
    if (o.expectedSize !== undefined && size !== o.expectedSize)
      throw new CopyCorruptError(
        `the stream was cut short: expected ${bytes(o.expectedSize)}, got ${bytes(size)}`,
        String(o.expectedSize),
        String(size),
      );
    mediaType ??= checkType();
    const sha256 = hash.digest("hex");
    const want = o.expectedSha256?.toLowerCase();
    if (want && want !== sha256)
      throw new CopyCorruptError(
        `the bytes that arrived are not the file announced: expected SHA-256 ${want}, got ${sha256}`,
        want,
        sha256,
      );
    await fh.sync();
    await fh.close();
    return { tempPath, size, sha256, mediaType };
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tempPath).catch(() => undefined);
    throw err;
  }
}

/**
 * Moves a verified temporary file to `path` (atomically: same file system) and flushes the
 * directory entry, so that a copy acknowledged to its sender survives a power failure.
 */
export async function commitFile(tempPath: string, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await rename(tempPath, path);
  try {
    const dir = await open(dirname(path), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Not every platform can fsync a directory; the rename itself is atomic.
  }
}

/** Removes a file; one that is gone already is fine. */
export async function removeFile(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** The SHA-256 (hex) and size of a file on disk. */
export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest("hex"), size };
}

/** A file's bytes in chunks of CHUNK_BYTES. */
export async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>)
    yield chunk;
}

/** A file name as uploaded, without directories or control characters; "copy" when nothing is left. */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).at(-1) ?? "";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, "").trim();
  return clean === "" || clean === "." || clean === ".." ? "copy" : clean.slice(0, 200);
}
