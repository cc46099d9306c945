/**
 * The ISBNs and ISSNs of a record, for the index and for display.
 *
 * Indexed: 020 $a and $z, 022 $a, $l, $y and $z. A reader or an ILL form often holds a number the
 * record gives as cancelled or invalid ($z, $y) or the linking ISSN ($l), and the record must be
 * found by it (the union catalog indexed these, a member did not: the union's rule is kept).
 * Shown: 020 $a and 022 $a only, the numbers the record claims as its own — the same numbers a
 * union cluster shows, which come from its records' match keys (match/keys.ts: never $z).
 */
import { subfieldValues } from "../marc/fields.js";
import { isControlField, type MarcRecord } from "../marc/record.js";
import { normalizeIsbn, normalizeIssn } from "../match/identifiers.js";

export interface RecordIdentifiers {
  /** ISBN-13s. */
  isbns: string[];
  /** ISSNs as "1234-5679". */
  issns: string[];
}

function collect(
  record: MarcRecord,
  tag: string,
  codes: string,
  normalize: (s: string) => string | undefined,
): string[] {
  const out = new Set<string>();
  for (const f of record.fields) {
    if (f.tag !== tag || isControlField(f)) continue;
    for (const sf of f.subfields) {
      if (!codes.includes(sf.code)) continue;
      const n = normalize(sf.value);
      if (n) out.add(n);
    }
  }
  return [...out];
}

/** The identifiers a record is found by. */
export function indexedIdentifiers(record: MarcRecord): RecordIdentifiers {
  return {
    isbns: collect(record, "020", "az", normalizeIsbn),
    issns: collect(record, "022", "alyz", normalizeIssn),
  };
}

/** The identifiers a record shows. */
export function shownIdentifiers(record: MarcRecord): RecordIdentifiers {
  return {
    isbns: [...new Set(subfieldValues(record, "020", "a").flatMap((v) => normalizeIsbn(v) ?? []))],
    issns: [...new Set(subfieldValues(record, "022", "a").flatMap((v) => normalizeIssn(v) ?? []))],
  };
}

/** ISSN "1234-5679" as the index holds it, one token: the tokenizer would split it at the hyphen. */
export function issnToken(issn: string): string {
  return issn.replace("-", "").toLowerCase();
}
