// `ill request --article 'issn=0001-5180;journal=Acta anatomica;title=…;volume=12;pages=12-34'`:
// an article (or chapter) citation as one option, checked key by key before anything is sent.
import { type illServicePb, normalizeIssn } from "@lrs/shared";

/** The keys `--article` takes, in the order the help lists them. */
export const ARTICLE_KEYS = [
  "issn",
  "journal",
  "title",
  "author",
  "volume",
  "issue",
  "pages",
  "year",
] as const;
export type ArticleKey = (typeof ARTICLE_KEYS)[number];

/** An article citation, checked: the ISSN normalised ("0001-5180"). */
export type Article = Partial<Record<ArticleKey, string>>;

/** Page ranges as staff write them: "12-34", "5", "e1-e9", "12-15, 20". */
export const PAGES =
  /^[A-Za-z]{0,2}\d{1,6}(?:\s*[-–]\s*[A-Za-z]{0,2}\d{1,6})?(?:\s*,\s*[A-Za-z]{0,2}\d{1,6}(?:\s*[-–]\s*[A-Za-z]{0,2}\d{1,6})?)*$/;

/**
 * Parses `key=value;key=value` (a ";" inside a value is written "\;"). Throws an Error naming the
 * bad key: unknown, given twice, empty, an ISSN with a wrong check digit, pages or a year that are
 * not one. The journal must be named (issn= or journal=), and the article (title=).
 */
export function parseArticle(text: string): Article {
  const out: Article = {};
  const parts = text
    .split(/(?<!\\);/)
    .map((p) => p.replace(/\\;/g, ";").trim())
    .filter((p) => p !== "");
  if (parts.length === 0) throw new Error("--article: empty; give e.g. 'issn=0001-5180;title=…;pages=12-34'");
  for (const part of parts) {
    const eq = part.indexOf("=");
    if (eq < 0) throw new Error(`--article: "${part}" is not key=value (keys: ${ARTICLE_KEYS.join(", ")})`);
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (!(ARTICLE_KEYS as readonly string[]).includes(key))
      throw new Error(`--article: unknown key "${key}"; use ${ARTICLE_KEYS.join(", ")}`);
    const k = key as ArticleKey;
    if (out[k] !== undefined) throw new Error(`--article: key "${k}" is given twice`);
    if (value === "") throw new Error(`--article: key "${k}" has no value`);
    out[k] = checkValue(k, value);
  }
  if (out.issn === undefined && out.journal === undefined)
    throw new Error("--article: name the journal: issn=… or journal=… (or both)");
  if (out.title === undefined) throw new Error("--article: name the article: title=…");
  return out;
}

function checkValue(key: ArticleKey, value: string): string {
  switch (key) {
    case "issn": {
      const issn = normalizeIssn(value);
      if (issn === undefined)
        throw new Error(
          `--article: issn "${value}" is not a valid ISSN (8 digits with a correct check digit, e.g. 0001-5180)`,
        );
      return issn;
    }
    case "pages":
      if (!PAGES.test(value))
        throw new Error(
          `--article: pages "${value}" is not a page range such as 12-34, 5, e1-e9 or 12-15, 20`,
        );
      return value;
    case "year":
      if (!/^\d{4}(-\d{2}(-\d{2})?)?$/.test(value))
        throw new Error(`--article: year "${value}" is not a year or a date (2024, 2024-05 or 2024-05-01)`);
      return value;
    case "volume":
    case "issue":
      if (value.length > 50)
        throw new Error(`--article: ${key} "${value.slice(0, 20)}…" is longer than 50 characters`);
      return value;
    default:
      if (value.length > 1000) throw new Error(`--article: ${key} is longer than 1000 characters`);
      return value;
  }
}

/** The options of `ill request` that an article fills in. */
interface RequestOptions {
  type: string;
  title?: string | undefined;
  author?: string | undefined;
  issn?: string | undefined;
  published?: string | undefined;
}

/**
 * A BorrowRequest for an article: the journal is the title (ISO: title is the journal,
 * title_of_component the article), its ISSN the identifier, `year` the publication date. `base`
 * builds the request from the other options as usual; options the article would contradict are
 * refused.
 */
export function articleRequest<O extends RequestOptions>(
  o: O,
  articleText: string,
  base: (o: O) => illServicePb.BorrowRequest,
): illServicePb.BorrowRequest {
  const a = parseArticle(articleText);
  if (o.type.trim().toLowerCase() === "loan")
    throw new Error("--article goes with --type copy or copy-or-loan: an article is copied, not lent");
  for (const [opt, given] of [
    ["--title", o.title],
    ["--author", o.author],
    ["--issn", o.issn],
  ] as const)
    if (given !== undefined)
      throw new Error(
        `${opt} and --article: the article names the journal (journal=, issn=) and its author (author=)`,
      );
  if (a.year !== undefined && o.published !== undefined)
    throw new Error("--published and --article year=: give the publication date once");
  const req = base({
    ...o,
    title: a.journal,
    issn: a.issn,
    published: a.year ?? o.published,
  });
  req.titleOfComponent = a.title ?? "";
  req.authorOfComponent = a.author ?? "";
  req.volume = a.volume ?? "";
  req.issue = a.issue ?? "";
  req.pages = a.pages ?? "";
  return req;
}
