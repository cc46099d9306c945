import type { Database } from "@lrs/shared";

const KEY = "dashboard_token";

/** The dashboard's generated operator token, kept so that a restart does not change it. */
export function storedDashboardToken(db: Database, make: () => string): string {
  const row = db.sqlite.prepare("SELECT value FROM node_meta WHERE key = ?").get(KEY) as
    | { value: string }
    | undefined;
  if (row) return row.value;
  const token = make();
  db.sqlite.prepare("INSERT INTO node_meta (key, value) VALUES (?, ?)").run(KEY, token);
  return token;
}
