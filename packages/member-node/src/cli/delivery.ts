// `lrs-member ill upload-copy` and `ill download-copy`: document delivery at the desk. Both stream
// the file to or from the node's own CopyStaffService (the node's certificate); the CLI checks
// what it can before sending (size, type, SHA-256) and verifies the SHA-256 of what it downloads
// while writing it.
import { createHash } from "node:crypto";
import { createReadStream, existsSync, statSync } from "node:fs";
import { mkdir, open, rename, unlink } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import {
  CHUNK_BYTES,
  configOption,
  copyPb,
  formatSize,
  loadConfig,
  printJson,
  SNIFF_BYTES,
  safeFileName,
  selfTransport,
  sniffCopyType,
  Tier,
  tooLarge,
  wrongType,
} from "@lrs/shared";
import { type Command, Option } from "commander";

type CopyClient = Client<typeof copyPb.CopyStaffService>;

/** How the commands reach the node and report progress (tests hand in their own). */
export interface CopyCliDeps {
  connect(configPath: string): { readonly client: CopyClient; readonly maxBytes: number; close(): void };
  /** Progress lines (stderr); `last` ends them. */
  progress(line: string, last: boolean): void;
}

const defaultDeps: CopyCliDeps = {
  connect(configPath) {
    const cfg = loadConfig(Tier.MEMBER, configPath);
    const t = selfTransport(cfg);
    return {
      client: createClient(copyPb.CopyStaffService, t.transport),
      maxBytes: cfg.ill.max_copy_size,
      close: () => t.close(),
    };
  },
  progress: (line, last) => {
    // One line rewritten in a terminal; a line per step in a log.
    if (process.stderr.isTTY) process.stderr.write(`\r${line}\u001b[K${last ? "\n" : ""}`);
    else process.stderr.write(`${line}\n`);
  },
};

/** One call may stream 50 MB to the node on the same machine; the node may also be busy. */
const STREAM_MS = 10 * 60_000;

/** Reports progress at most every 10 % (and at the end). */
function progressOf(
  total: number,
  say: (line: string, last: boolean) => void,
  verb: string,
): (done: number) => void {
  let shown = -1;
  return (done) => {
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    if (pct < 100 && pct < shown + 10) return;
    if (pct === shown) return;
    shown = pct;
    say(`${verb} ${formatSize(done)} of ${formatSize(total)} (${pct}%)`, pct >= 100);
  };
}

/** The file's SHA-256 (hex), size and first bytes, read once before it is sent. */
async function examine(path: string): Promise<{ sha256: string; size: number; head: Uint8Array }> {
  const hash = createHash("sha256");
  let size = 0;
  let head = new Uint8Array(0);
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    if (head.length < SNIFF_BYTES)
      head = new Uint8Array(Buffer.concat([head, chunk]).subarray(0, SNIFF_BYTES));
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest("hex"), size, head };
}

export interface UploadResult {
  requestId: string;
  status: string;
  copy: CopyJson;
}

/** A CopyInfo as `--json` prints it (ill show's `copy` object has the same shape). */
export interface CopyJson {
  transferId: string;
  fileName: string;
  size: number;
  sha256: string;
  mediaType: string;
  /** The lender and the borrower. */
  from: string;
  to: string;
  /** "available", "deleted" (borrower); "queued", "sent" (lender). */
  state: string;
  storedAt: string | null;
  forwardedAt: string | null;
  availableUntil: string | null;
  deletedAt: string | null;
  deletedReason: string | null;
  firstDownloadedAt: string | null;
  downloads: number;
}

const iso = (ts: { seconds: bigint; nanos: number } | undefined): string | null =>
  ts ? new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6)).toISOString() : null;

export function copyJson(c: copyPb.CopyInfo): CopyJson {
  return {
    transferId: c.transferId,
    fileName: c.fileName,
    size: Number(c.size),
    sha256: c.sha256,
    mediaType: c.mediaType,
    from: c.originAgencyId,
    to: c.destinationAgencyId,
    state: c.state,
    storedAt: iso(c.storedAt),
    forwardedAt: iso(c.forwardedAt),
    availableUntil: iso(c.availableUntil),
    deletedAt: iso(c.deletedAt),
    deletedReason: c.deletedReason === "" ? null : c.deletedReason,
    firstDownloadedAt: iso(c.firstDownloadedAt),
    downloads: c.downloads,
  };
}

/** The lines `ill show` prints for a copy. */
export function formatCopy(c: copyPb.CopyInfo, role: string): string[] {
  const day = (ts: { seconds: bigint; nanos: number } | undefined) =>
    iso(ts)
      ?.replace("T", " ")
      .replace(/\.\d+Z$/, "Z") ?? "-";
  const out = [
    `  file         ${c.fileName} (${c.mediaType}, ${formatSize(Number(c.size))})`,
    `  sha256       ${c.sha256}`,
  ];
  if (role === "borrower") {
    if (c.state === "available") {
      out.push(`  arrived      ${day(c.storedAt)}`, `  available    until ${day(c.availableUntil)}`);
      out.push(
        `  downloads    ${c.downloads}${c.firstDownloadedAt ? ` (first ${day(c.firstDownloadedAt)})` : ""}   (lrs-member ill download-copy ID)`,
      );
    } else out.push(`  deleted      ${day(c.deletedAt)}: ${c.deletedReason}`);
  } else {
    out.push(`  uploaded     ${day(c.storedAt)}`);
    out.push(
      c.forwardedAt
        ? `  sent         ${day(c.forwardedAt)} (the regional center has it; the file was removed here)`
        : "  sent         not yet: queued for the regional center",
    );
  }
  return out;
}

async function call<T>(
  deps: CopyCliDeps,
  config: string,
  fn: (c: CopyClient, maxBytes: number) => Promise<T>,
): Promise<T> {
  const { client, maxBytes, close } = deps.connect(config);
  try {
    return await fn(client, maxBytes);
  } finally {
    close();
  }
}

/** Uploads a lender's copy: checks it here first, then streams it with its SHA-256. */
export async function uploadCopy(
  deps: CopyCliDeps,
  o: { config: string; id: string; file: string; note?: string },
): Promise<UploadResult> {
  const path = resolve(o.file);
  if (!existsSync(path)) throw new Error(`${o.file}: no such file`);
  const st = statSync(path);
  if (!st.isFile()) throw new Error(`${o.file}: not a file`);
  return call(deps, o.config, async (client, maxBytes) => {
    // The node decides; checking here first saves sending 50 MB to be told no.
    if (st.size > maxBytes) throw tooLarge(st.size, maxBytes);
    if (st.size === 0) throw new Error(`${o.file}: the file is empty`);
    const { sha256, size, head } = await examine(path);
    if (!sniffCopyType(head)) throw wrongType(head);
    const report = progressOf(size, deps.progress, "sent");
    let sent = 0;
    async function* parts(): AsyncGenerator<copyPb.UploadCopyRequest> {
      yield {
        $typeName: "lrs.v1.UploadCopyRequest",
        part: {
          case: "header",
          value: {
            $typeName: "lrs.v1.UploadCopyHeader",
            requestId: o.id.trim(),
            fileName: safeFileName(path),
            size: BigInt(size),
            sha256,
            note: o.note?.trim() ?? "",
          },
        },
      };
      for await (const chunk of createReadStream(path, {
        highWaterMark: CHUNK_BYTES,
      }) as AsyncIterable<Buffer>) {
        sent += chunk.length;
        yield { $typeName: "lrs.v1.UploadCopyRequest", part: { case: "chunk", value: chunk } };
        report(sent);
      }
    }
    const res = await client.uploadCopy(parts(), { timeoutMs: STREAM_MS });
    if (!res.copy) throw new Error("the node answered without the copy");
    return { requestId: o.id.trim(), status: res.status, copy: copyJson(res.copy) };
  });
}

export interface DownloadResult {
  requestId: string;
  path: string;
  size: number;
  sha256: string;
  mediaType: string;
  fileName: string;
}

/**
 * Downloads a borrower's copy to `output` (default: its file name in the current directory),
 * through a temporary file that becomes `output` only when size and SHA-256 match.
 */
export async function downloadCopy(
  deps: CopyCliDeps,
  o: { config: string; id: string; output?: string; force?: boolean },
): Promise<DownloadResult> {
  return call(deps, o.config, async (client) => {
    const stream = client.downloadCopy({ requestId: o.id.trim() }, { timeoutMs: STREAM_MS });
    let info: copyPb.CopyInfo | undefined;
    let target = "";
    let temp = "";
    let fh: Awaited<ReturnType<typeof open>> | undefined;
    const hash = createHash("sha256");
    let size = 0;
    let report: (done: number) => void = () => undefined;
    try {
      for await (const msg of stream) {
        if (msg.part.case === "info") {
          info = msg.part.value;
          target = resolve(o.output ?? safeFileName(info.fileName));
          if (existsSync(target) && !o.force)
            throw new Error(`${target} exists; give --output FILE or --force to replace it`);
          await mkdir(dirname(target), { recursive: true });
          temp = `${target}.part`;
          fh = await open(temp, "w");
          report = progressOf(Number(info.size), deps.progress, "received");
        } else if (msg.part.case === "chunk") {
          if (!fh) throw new Error("the node sent the file before saying what it is");
          hash.update(msg.part.value);
          size += msg.part.value.length;
          await fh.write(msg.part.value);
          report(size);
        }
      }
      if (!info || !fh) throw new Error("the node ended the download without the file");
      await fh.sync();
      await fh.close();
      fh = undefined;
      const sha256 = hash.digest("hex");
      if (size !== Number(info.size))
        throw new Error(
          `the download was cut short: expected ${info.size} bytes, got ${size}; nothing was kept`,
        );
      if (sha256 !== info.sha256)
        throw new Error(
          `the file is corrupt: expected SHA-256 ${info.sha256}, got ${sha256}; nothing was kept`,
        );
      await rename(temp, target);
      return {
        requestId: o.id.trim(),
        path: target,
        size,
        sha256,
        mediaType: info.mediaType,
        fileName: info.fileName,
      };
    } catch (err) {
      await fh?.close().catch(() => undefined);
      if (temp) await unlink(temp).catch(() => undefined);
      throw err;
    }
  });
}

const UPLOAD_HELP = `
For a copy (or copy-or-loan) request this library lends, in state will_supply or pick (answer
"ill respond ID yes" first). The file must be a PDF, JPEG, PNG or TIFF (told by its first bytes)
of at most [ill] max_copy_size (default 50MB). It is checked here, streamed to this node, checked
again (size, SHA-256, type) and stored; then the request is delivered (CopyCompleted goes to the
borrower behind the file). The file travels through the regional and national centers, each
checking its SHA-256; a transfer cut on the way is sent again.

Examples:
  $ lrs-member ill upload-copy --config member.toml 3f1c… scan.pdf
  $ lrs-member ill upload-copy --config member.toml 3f1c… pages-12-34.tiff --note "pp. 12-34, 300 dpi" --json`;

const DOWNLOAD_HELP = `
For a copy this library borrowed, once it has arrived ("ill show ID" says until when it is
available; after [ill] copy_retention it is deleted and the download says when and why). The file
is written to a temporary FILE.part while its SHA-256 is checked, and renamed only when it matches.

Examples:
  $ lrs-member ill download-copy --config member.toml 3f1c…
  $ lrs-member ill download-copy --config member.toml 3f1c… --output ~/ill/article.pdf --json`;

/** Adds `upload-copy` and `download-copy` to the `ill` command group. */
export function addCopyCommands(group: Command, deps: CopyCliDeps = defaultDeps): void {
  group
    .command("upload-copy")
    .description("lender: deliver a copy request's scanned file (PDF or image)")
    .addOption(configOption())
    .argument("<id>", "the lending request's id")
    .argument("<file>", "the scanned copy: PDF, JPEG, PNG or TIFF")
    .option("--note <text>", "a note for the borrower")
    .addOption(new Option("--json", "print the result as JSON"))
    .addHelpText("after", UPLOAD_HELP)
    .action(async (id: string, file: string, o: { config: string; note?: string; json?: boolean }) => {
      const res = await uploadCopy(deps, { config: o.config, id, file, ...(o.note ? { note: o.note } : {}) });
      if (o.json) return printJson(res);
      process.stdout.write(
        `${res.requestId}: ${res.status}, copy ${res.copy.fileName} (${formatSize(res.copy.size)}, SHA-256 ${res.copy.sha256}) queued for ${res.copy.to}\n`,
      );
    });

  group
    .command("download-copy")
    .description("borrower: download a delivered copy, checking its SHA-256")
    .addOption(configOption())
    .argument("<id>", "the borrowing request's id")
    .option("-o, --output <file>", "where to write it (default: its file name, here)")
    .option("--force", "replace --output if it exists")
    .addOption(new Option("--json", "print the result as JSON"))
    .addHelpText("after", DOWNLOAD_HELP)
    .action(async (id: string, o: { config: string; output?: string; force?: boolean; json?: boolean }) => {
      const res = await downloadCopy(deps, {
        config: o.config,
        id,
        ...(o.output ? { output: o.output } : {}),
        ...(o.force ? { force: true } : {}),
      });
      if (o.json) return printJson(res);
      process.stdout.write(
        `wrote ${res.path} (${formatSize(res.size)}, ${res.mediaType})\nsha256 ${res.sha256} (verified)\n`,
      );
    });
}
