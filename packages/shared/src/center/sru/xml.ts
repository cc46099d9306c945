/**
 * Small XML writing helpers for the SRU responses. Every value that comes from a record or a
 * request goes through {@link escapeXml}; the only markup written unescaped is markup this module
 * (or the MARCXML writer) produced.
 */

// XML 1.0 characters; the rest (most C0 controls, lone surrogates, U+FFFE/U+FFFF) cannot be written at all.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const NEEDS_ESCAPE = /[&<>"]/;

/** Escapes text for element content and attribute values, dropping characters XML cannot hold. */
export function escapeXml(s: string): string {
  const clean = s.replace(NOT_XML_CHAR, "");
  if (!NEEDS_ESCAPE.test(clean)) return clean;
  return clean.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** `<name>text</name>` with the text escaped, or nothing when there is no value. */
export function textElement(name: string, value: string | number | undefined): string {
  if (value === undefined) return "";
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
