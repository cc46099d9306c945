/**
 * Kinds of material, by leader/06 (type of record) and /07 (bibliographic level): the one table a
 * member's facets, a union cluster's summary and the ILL broker name material by.
 */
const FORMATS: Readonly<Record<string, string>> = {
  a: "book",
  t: "manuscript",
  c: "score",
  d: "manuscript score",
  e: "map",
  f: "manuscript map",
  g: "video",
  i: "nonmusic sound recording",
  j: "music sound recording",
  k: "image",
  m: "computer file",
  o: "kit",
  p: "mixed materials",
  r: "object",
};

/** The kind of material of a record with this leader ("book", "serial", "score"…), "" when unknown. */
export function formatOfLeader(type: string, level: string): string {
  if (type === "a" && (level === "s" || level === "i"))
    return level === "s" ? "serial" : "integrating resource";
  return FORMATS[type] ?? "";
}

/** The language of a record: 008/35-37 when it is a code, else the first 041 $a (3 letters); "" when unknown. */
export function languageOf(field008: string | undefined, first041a: string | undefined): string {
  const lang008 = field008 && field008.length >= 38 ? field008.slice(35, 38) : "";
  if (/^[a-z]{3}$/.test(lang008)) return lang008;
  return (first041a ?? "").slice(0, 3).trim();
}
