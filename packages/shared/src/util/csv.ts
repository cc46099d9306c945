/** One CSV field (RFC 4180): quoted when it holds a quote, a comma or a line break. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** One CSV line of fields, with its CRLF. */
export function csvLine(fields: ReadonlyArray<string | number>): string {
  return `${fields.map((f) => csvField(String(f))).join(",")}\r\n`;
}
