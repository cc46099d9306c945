/** A CQL string term: quoted, with the characters CQL gives a meaning to escaped. */
export function cqlTerm(s: string): string {
  return `"${s.replace(/[\\"*?^]/g, "\\$&")}"`;
}

/** The CQL that finds a title by its words (and its author's); undefined for a blank title. */
export function titleQuery(title: string, author: string): string | undefined {
  if (!title.trim()) return undefined;
  const q = `dc.title all ${cqlTerm(title.trim())}`;
  return author.trim() ? `${q} and dc.creator all ${cqlTerm(author.trim())}` : q;
}
