// How ILL requests are matched by title: the duplicate check (the same patron asking for the
// same title again) and the copyright rule (copies of one journal) compare these keys.
import { type illPb, normalizeIsbn, normalizeIssn } from "@lrs/shared";

/** A title as requests are matched by it: NFKC, lower case, punctuation and symbols as spaces. */
export function normaliseTitle(title: string): string {
  return title
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/** "id:isbn:9780441013593 id:issn:0028-0836": the item identifiers, normalised and sorted. */
export function identifiersKey(bib: illPb.BibliographicInfo): string {
  const keys = bib.bibliographicItemId
    .map((i) => {
      const code = i.bibliographicItemIdentifierCode.trim().toLowerCase();
      const raw = i.bibliographicItemIdentifier.trim();
      const value =
        code === "isbn" ? (normalizeIsbn(raw) ?? raw) : code === "issn" ? (normalizeIssn(raw) ?? raw) : raw;
      return value ? `id:${code}:${value}` : "";
    })
    .filter((k) => k !== "");
  return [...new Set(keys)].sort().join(" ");
}

/** What a borrowing request is matched by: its title key, and the part of it naming an article. */
export interface BorrowingKey {
  /** "the lancet / carpal tunnel / 12 / 3 / 34-56"; "" when nothing names the title. */
  readonly titleKey: string;
  /** The article (component, volume, issue, pages); "" for a whole title. */
  readonly component: string;
}

/**
 * A borrowing request's title key. Without a title, the identifiers stand for it. An article is
 * its own title: two articles of one journal are not duplicates.
 */
export function borrowingKey(bib: illPb.BibliographicInfo): BorrowingKey {
  const component = [bib.titleOfComponent, bib.volume.join(" "), bib.issue, bib.pagesRequested]
    .map(normaliseTitle)
    .filter(Boolean)
    .join(" / ");
  const titleKey = [normaliseTitle(bib.title) || identifiersKey(bib), component].filter(Boolean).join(" / ");
  return { titleKey, component };
}
