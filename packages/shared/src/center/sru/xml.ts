/**
 * Small XML writing helpers for the SRU responses. Every value that comes from a record or a
 * request goes through {@link escapeXml}; the only markup written unescaped is markup this module
 * (or the MARCXML writer) produced.
 */

// One escaping rule for every XML LRS writes: the MARCXML writer's.
import { escapeXml } from "../../marc/marcxml.js";

export { escapeXml };

/** `<name>text</name>` with the text escaped, or nothing when there is no value. */
export function textElement(name: string, value: string | number | undefined): string {
  if (value === undefined) return "";
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
