import type { Migration } from "@lrs/shared";

/** The regional center's own tables (from version 100; 1–99 are shared). */
export const regionalMigrations: Migration[] = [];
