import type { Migration } from "../../db.js";

/**
 * The union catalog's tables (versions 20–29 of the shared range; 30–39 are the ILL relay's, ill-net/migrations.ts). Regional and national centers
 * include these in their migration list; members do not.
 *
 * Records are identified by (institution_id, record_id) everywhere a reference must outlive the row
 * (split constraints, the change log); `rid` is only a compact join key for the match-key index.
 * Cluster numbers come from AUTOINCREMENT so that a removed cluster's number is never given to
 * another cluster: a member may have remembered it.
 */
export const unionCatalogMigrations: Migration[] = [
  {
    version: 20,
    name: "union catalog: records, match keys, clusters, change log, splits, downloads, search",
    up: `
      CREATE TABLE union_clusters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        preferred_rid INTEGER NOT NULL,
        record_count INTEGER NOT NULL,
        institution_count INTEGER NOT NULL,
        title TEXT NOT NULL,
        title_vernacular TEXT NOT NULL,
        author TEXT NOT NULL,
        year TEXT NOT NULL,
        isbns TEXT NOT NULL,
        issns TEXT NOT NULL,
        language TEXT NOT NULL,
        format TEXT NOT NULL
      );

      CREATE TABLE union_records (
        rid INTEGER PRIMARY KEY,
        institution_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        source TEXT NOT NULL,
        cluster_id INTEGER NOT NULL,
        marc BLOB NOT NULL,
        holdings TEXT NOT NULL,
        digest TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        seen_epoch TEXT,
        completeness INTEGER NOT NULL,
        readable INTEGER NOT NULL,
        derived TEXT NOT NULL,
        UNIQUE (institution_id, record_id)
      );
      CREATE INDEX union_records_cluster ON union_records (cluster_id);
      CREATE INDEX union_records_source ON union_records (source, seen_epoch);

      -- Strong keys ("isbn:978…") and the fuzzy key ("fuzzy:" + key) of every record.
      CREATE TABLE union_record_keys (
        key TEXT NOT NULL,
        rid INTEGER NOT NULL,
        strong INTEGER NOT NULL,
        PRIMARY KEY (key, rid)
      ) WITHOUT ROWID;
      CREATE INDEX union_record_keys_rid ON union_record_keys (rid);

      -- A cluster number that was merged into another one; lookups of it answer with the survivor.
      CREATE TABLE union_cluster_aliases (
        alias INTEGER PRIMARY KEY,
        cluster_id INTEGER NOT NULL
      );
      CREATE INDEX union_cluster_aliases_target ON union_cluster_aliases (cluster_id);

      CREATE TABLE union_merges (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        merged_at TEXT NOT NULL,
        survivor INTEGER NOT NULL,
        retired INTEGER NOT NULL,
        institution_id TEXT,
        record_id TEXT
      );

      -- An operator's split: records on side 1 must never share a cluster with records on side 0.
      CREATE TABLE union_splits (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        from_cluster INTEGER NOT NULL,
        new_cluster INTEGER NOT NULL,
        reason TEXT NOT NULL
      );
      CREATE TABLE union_split_members (
        split_id INTEGER NOT NULL,
        institution_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        side INTEGER NOT NULL CHECK (side IN (0, 1)),
        PRIMARY KEY (split_id, institution_id, record_id)
      ) WITHOUT ROWID;
      CREATE INDEX union_split_members_record ON union_split_members (institution_id, record_id);

      -- This catalog's own change log (what it forwards upward). One live entry per record: a new
      -- entry replaces the record's older ones, since the entry is sent with the record's state now.
      CREATE TABLE union_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        institution_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        changed_at TEXT NOT NULL
      );
      CREATE INDEX union_changes_record ON union_changes (institution_id, record_id);

      CREATE TABLE union_resyncs (
        source TEXT PRIMARY KEY,
        active_epoch TEXT,
        last_epoch TEXT
      );

      CREATE TABLE union_downloads (
        cluster_id INTEGER NOT NULL,
        institution_id TEXT NOT NULL,
        count INTEGER NOT NULL,
        last_at TEXT NOT NULL,
        PRIMARY KEY (cluster_id, institution_id)
      ) WITHOUT ROWID;

      -- Text is stored already tokenised (match/cjk.ts toFtsDocument: normalised, CJK as bigrams),
      -- so the tokenizer must not fold it again.
      CREATE VIRTUAL TABLE union_fts USING fts5 (
        title, author, subject, isbn, issn, publisher, year, any,
        tokenize = 'unicode61 remove_diacritics 0'
      );
    `,
  },
  {
    version: 21,
    name: "union catalog: search index by record, records in preference order, simple clusters",
    up: `
      -- The search index gets one row per record instead of one per cluster: keeping a cluster's
      -- row current cost time in proportion to its records on every change (a book held by a
      -- thousand libraries). Rebuilt from the search text kept in derived.
      DELETE FROM union_fts;
      INSERT INTO union_fts (rowid, title, author, subject, isbn, issn, publisher, year, any)
        SELECT rid, json_extract(derived, '$.search.title'), json_extract(derived, '$.search.author'),
          json_extract(derived, '$.search.subject'), json_extract(derived, '$.search.isbn'),
          json_extract(derived, '$.search.issn'), json_extract(derived, '$.search.publisher'),
          json_extract(derived, '$.search.year'), json_extract(derived, '$.search.any')
        FROM union_records;
      -- Only the display summary stays with the record.
      ALTER TABLE union_records RENAME COLUMN derived TO summary;
      UPDATE union_records SET summary = json_extract(summary, '$.summary');

      -- A cluster's records in preference order: its preferred record is the first.
      DROP INDEX union_records_cluster;
      CREATE INDEX union_records_cluster
        ON union_records (cluster_id, completeness DESC, received_at, institution_id, record_id);

      -- 1 when strong keys alone hold the cluster together, no split involves it and no record
      -- outside it shares a fuzzy key with it: a new record matching only it by strong keys simply
      -- joins it (union-catalog.ts, #place). 0 is always safe: it means "recompute".
      ALTER TABLE union_clusters ADD COLUMN simple INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 22,
    name: "union catalog: OAI-PMH datestamps and deleted clusters",
    up: `
      -- One row per cluster that ever existed, written in the transaction that changes it: the
      -- OAI-PMH datestamp (this center's clock, never going back), the order of changes (seq,
      -- which resumption tokens count in), and whether it is gone (its records deleted or merged
      -- into another cluster). A deleted cluster keeps its row for good: OAI-PMH "persistent".
      CREATE TABLE union_oai (
        cluster_id INTEGER PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        changed_at TEXT NOT NULL,
        deleted INTEGER NOT NULL
      );
      CREATE INDEX union_oai_changed ON union_oai (changed_at);
      -- The institutions holding each cluster (current = 1) or that held it once (current = 0):
      -- a cluster that leaves an institution's or a region's set is listed there as deleted, so
      -- that a harvester of the set sees it go. A deleted cluster keeps its last holders.
      CREATE TABLE union_oai_holders (
        institution_id TEXT NOT NULL,
        cluster_id INTEGER NOT NULL,
        current INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (institution_id, cluster_id)
      ) WITHOUT ROWID;
      CREATE INDEX union_oai_holders_cluster ON union_oai_holders (cluster_id);

      INSERT INTO union_oai (cluster_id, seq, changed_at, deleted)
        SELECT id, ROW_NUMBER() OVER (ORDER BY updated_at, id), updated_at, 0 FROM union_clusters;
      INSERT OR IGNORE INTO union_oai_holders (institution_id, cluster_id)
        SELECT DISTINCT institution_id, cluster_id FROM union_records;
    `,
  },
  {
    version: 23,
    name: "union catalog: ILL demand by title (acquisitions)",
    up: `
      -- One row per key of an ILL request made by a member of this center's region: "isbn:978…",
      -- "issn:…", "title:<normalised title>". Written by the broker when it builds the request's
      -- rota; (requester, request_id) counts a request once however often its rota is built.
      -- held: whether the union catalog knew a holder of the title then. title: as asked, for reports.
      CREATE TABLE union_demand (
        key TEXT NOT NULL,
        requester TEXT NOT NULL,
        request_id TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        held INTEGER NOT NULL,
        title TEXT NOT NULL,
        PRIMARY KEY (key, requester, request_id)
      ) WITHOUT ROWID;
      CREATE INDEX union_demand_time ON union_demand (requested_at);
    `,
  },
  {
    version: 24,
    name: "union catalog: ILL demand received from the regions (national collection reports)",
    up: `
      -- At the national center: each regional center that sent its ILL demand up (PostDemand),
      -- when it began counting, and when it was last heard from. At a regional center: unused.
      CREATE TABLE union_demand_sources (
        region TEXT PRIMARY KEY,
        center TEXT NOT NULL,
        counting_since TEXT NOT NULL,
        last_received_at TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];
