/**
 * The read-only connections of a search worker thread (pool.ts): one per database file, opened on
 * the first search of it and kept for the thread's life.
 */
import BetterSqlite3 from "better-sqlite3";
import type { Sqlite } from "../db.js";
import { cacheStatements } from "../statement-cache.js";

const open = new Map<string, Sqlite>();

export function readOnlyDb(path: string): Sqlite {
  let db = open.get(path);
  if (!db) {
    db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    // As the node's own connection (db.ts): a page cache for gigabyte catalogs; wait out a
    // checkpoint rather than fail.
    db.pragma("cache_size = -65536");
    db.pragma("busy_timeout = 5000");
    cacheStatements(db);
    open.set(path, db);
  }
  return db;
}
