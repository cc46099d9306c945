import { createReadStream } from "node:fs";
import { pipeline, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { type Iso2709Options, readIso2709 } from "./iso2709.js";
import { readMarcXml } from "./marcxml.js";
import { MarcParseError, type MarcReadResult } from "./read-result.js";

/** The formats {@link readMarc} tells apart. */
export type MarcFormat = "iso2709" | "marcxml";

/** Options of {@link readMarc} and {@link readMarcFile}. */
export interface ReadMarcOptions {
  /** Skip detection. By default the first non-blank byte decides: `<` is MARCXML, anything else ISO 2709. */
  format?: MarcFormat;
  /** Text encoding of ISO 2709 records (see {@link Iso2709Options.encoding}). */
  encoding?: Iso2709Options["encoding"];
}

/**
 * Reads MARC records from a stream of bytes: ISO 2709 or MARCXML, either of them gzipped (told
 * from the content, not a file name). Yields one result per record, in order; unreadable records
 * are reported and skipped, never thrown.
 */
export async function* readMarc(
  stream: AsyncIterable<Uint8Array | string>,
  opts: ReadMarcOptions = {},
): AsyncGenerator<MarcReadResult, void, undefined> {
  const input = await peekable(bytes(stream));
  if (input.head.length >= 2 && input.head[0] === 0x1f && input.head[1] === 0x8b) {
    // pipeline, not pipe: a reader that stops early destroys the gunzip stream, and that has to
    // reach back and close the file. Errors are seen where the gunzip stream is read.
    const gunzip = createGunzip();
    pipeline(Readable.from(input.all()), gunzip, () => {});
    const failed: { error?: Error } = {};
    let last = 0;
    for await (const result of readMarc(untilError(gunzip, failed), opts)) {
      last = result.index;
      yield result;
    }
    if (failed.error) {
      // The records before the damage have been read; what follows it cannot be.
      const index = last + 1;
      const reason = `gzip data is damaged or cut short (${failed.error.message}); nothing after this point can be read`;
      yield { ok: false, index, error: new MarcParseError({ recordIndex: index, reason }) };
    }
    return;
  }
  const format = opts.format ?? detect(input.head);
  if (format === "marcxml") yield* readMarcXml(input.all());
  else yield* readIso2709(input.all(), opts.encoding ? { encoding: opts.encoding } : {});
}

/**
 * {@link readMarc} for a file (plain or gzipped ISO 2709 or MARCXML). A file that cannot be opened
 * or read makes the iteration throw (the file's error, e.g. ENOENT).
 */
export async function* readMarcFile(
  path: string,
  opts: ReadMarcOptions = {},
): AsyncGenerator<MarcReadResult, void, undefined> {
  // Opened here, on the first read, not when the generator is made: one that is never read holds no file.
  // 1 MiB reads: MARC files are read start to end, and fewer, larger chunks parse faster.
  yield* readMarc(createReadStream(path, { highWaterMark: 1 << 20 }), opts);
}

/** Ends the iteration quietly at the first error and hands the error over. */
async function* untilError(
  source: AsyncIterable<Uint8Array>,
  failed: { error?: Error },
): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of source) yield chunk;
  } catch (err) {
    failed.error = err instanceof Error ? err : new Error(String(err));
  }
}

function isBlank(b: number | undefined): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/** Index of the first byte that is neither blank nor part of a UTF-8 byte order mark; -1 if none yet. */
function firstSignificant(head: Uint8Array): number {
  let i = 0;
  if (head[0] === 0xef) {
    // Perhaps a byte order mark, perhaps not all of it read yet.
    if (head.length < 3) return head.length === 1 || head[1] === 0xbb ? -1 : 0;
    if (head[1] === 0xbb && head[2] === 0xbf) i = 3;
  }
  while (i < head.length && isBlank(head[i])) i++;
  return i < head.length ? i : -1;
}

function detect(head: Uint8Array): MarcFormat {
  const i = firstSignificant(head);
  return i >= 0 && head[i] === 0x3c ? "marcxml" : "iso2709";
}

async function* bytes(stream: AsyncIterable<Uint8Array | string>): AsyncGenerator<Uint8Array> {
  for await (const chunk of stream) yield typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
}

/**
 * Reads chunks until a non-blank byte (or the end) is seen, then gives back the same sequence of
 * bytes as one iterable.
 */
async function peekable(source: AsyncGenerator<Uint8Array>): Promise<{
  head: Uint8Array;
  all: () => AsyncGenerator<Uint8Array>;
}> {
  const seen: Uint8Array[] = [];
  let head: Uint8Array = new Uint8Array(0);
  while (true) {
    const next = await source.next();
    if (next.done) break;
    seen.push(next.value);
    head = seen.length === 1 ? next.value : Buffer.concat(seen);
    if (head.length >= 2 && firstSignificant(head) >= 0) break;
  }
  return {
    head,
    all: async function* () {
      try {
        // Handed on one by one so that the first chunks are not held until the end.
        while (seen.length > 0) yield seen.shift()!;
        yield* source;
      } finally {
        // A reader that stops early must still close the source (and the file behind it).
        await source.return(undefined);
      }
    },
  };
}
