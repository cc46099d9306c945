// What a copy may be: a PDF or a scanned image, told by the file's first bytes (its "magic
// number"), never by its name.

/** The media types a copy may have, with the names staff know them by. */
export const COPY_MEDIA_TYPES = {
  "application/pdf": "PDF",
  "image/jpeg": "JPEG",
  "image/png": "PNG",
  "image/tiff": "TIFF",
} as const;

export type CopyMediaType = keyof typeof COPY_MEDIA_TYPES;

/** "PDF, JPEG, PNG or TIFF": for messages. */
export const ALLOWED_COPY_TYPES = "PDF, JPEG, PNG or TIFF";

/** Bytes needed to tell the type (PNG's signature is the longest). */
export const SNIFF_BYTES = 8;

const SIGNATURES: ReadonlyArray<[CopyMediaType, readonly number[]]> = [
  ["application/pdf", [0x25, 0x50, 0x44, 0x46, 0x2d]], // %PDF-
  ["image/jpeg", [0xff, 0xd8, 0xff]],
  ["image/png", [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]],
  ["image/tiff", [0x49, 0x49, 0x2a, 0x00]], // little-endian TIFF
  ["image/tiff", [0x4d, 0x4d, 0x00, 0x2a]], // big-endian TIFF
  ["image/tiff", [0x49, 0x49, 0x2b, 0x00]], // little-endian BigTIFF
  ["image/tiff", [0x4d, 0x4d, 0x00, 0x2b]], // big-endian BigTIFF
];

/** The media type the first bytes of a file show, or undefined when it is none of the allowed ones. */
export function sniffCopyType(head: Uint8Array): CopyMediaType | undefined {
  for (const [type, sig] of SIGNATURES)
    if (head.length >= sig.length && sig.every((b, i) => head[i] === b)) return type;
  return undefined;
}

export function isCopyMediaType(s: string): s is CopyMediaType {
  return Object.hasOwn(COPY_MEDIA_TYPES, s);
}

/** "a ZIP archive", "a text file", … : what a refused file looks like, so the message helps. */
export function describeHead(head: Uint8Array): string {
  const ascii = (n: number) => String.fromCharCode(...head.subarray(0, n));
  if (head.length === 0) return "an empty file";
  if (head[0] === 0x50 && head[1] === 0x4b) return "a ZIP archive (e.g. DOCX)";
  if (ascii(4) === "GIF8") return "a GIF image";
  if (ascii(4) === "RIFF") return "a RIFF file (e.g. WebP)";
  if (head[0] === 0x1f && head[1] === 0x8b) return "a gzip file";
  if (head.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f)))
    return "a text file";
  return "a file of another type";
}
