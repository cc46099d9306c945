/**
 * Rebuilding the local catalog's search index (`catalog_fts`) and display columns by the current
 * rules (`@lrs/shared` catalog-index), driven by its rebuildSearchIndex on start and by
 * `lrs-member reindex`. Records, items and the change log are left alone: the index is derived, and
 * the centers derive their own.
 */
import {
  type Database,
  displayFields,
  EMPTY_INDEX_DOCUMENT,
  type IndexRebuildTarget,
  indexDocument,
  readMarcBlob,
} from "@lrs/shared";

/** How the local catalog rebuilds its index rows and display columns. */
export function memberIndexRebuild(db: Database): IndexRebuildTarget {
  const s = db.sqlite;
  const page = s.prepare("SELECT id, marc FROM catalog_records WHERE id > ? ORDER BY id LIMIT ?");
  const setShown = s.prepare(
    "UPDATE catalog_records SET title = ?, author = ?, pub_year = ?, isbns = ?, issns = ? WHERE id = ?",
  );
  const deleteFts = s.prepare("DELETE FROM catalog_fts WHERE rowid = ?");
  const insertFts = s.prepare(
    `INSERT INTO catalog_fts (rowid, title, author, subject, isbn, issn, publisher, year, any)
     VALUES (@id, @title, @author, @subject, @isbn, @issn, @publisher, @year, @any)`,
  );
  return {
    what: "local catalog",
    count: () => (s.prepare("SELECT COUNT(*) AS n FROM catalog_records").get() as { n: number }).n,
    batch(after, limit) {
      const rows = page.all(after, limit) as Array<{ id: number; marc: Buffer }>;
      if (rows.length === 0) return undefined;
      for (const r of rows) {
        const record = readMarcBlob(r.marc);
        deleteFts.run(r.id);
        // A stored record is always readable (it was written from a parsed record); if it is not,
        // it keeps its display columns and is found by nothing rather than stopping the rebuild.
        if (!record) {
          insertFts.run({ id: r.id, ...EMPTY_INDEX_DOCUMENT });
          continue;
        }
        const shown = displayFields(record);
        setShown.run(
          shown.title,
          shown.author,
          shown.year,
          shown.isbns.join(" "),
          shown.issns.join(" "),
          r.id,
        );
        insertFts.run({ id: r.id, ...indexDocument(record) });
      }
      return { last: rows.at(-1)!.id, done: rows.length };
    },
  };
}
