import type { Migration } from "@lrs/shared";

/** The member node's own tables (from version 100; 1–99 are shared). */
export const memberMigrations: Migration[] = [];
