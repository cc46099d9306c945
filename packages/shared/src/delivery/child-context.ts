// What a node below the national center opens when ILL messages and copies go up through it (a
// member, a regional center): its child context and its copy store, sharing one queue to the parent.
import type { NodeConfig } from "../config.js";
import type { Migration } from "../db.js";
import { illParentBatch, illParentSenders } from "../iso18626/parent-senders.js";
import { openChildContext } from "../node/base-node.js";
import { copyMigrations } from "./migrations.js";
import { copyParentSenders } from "./sender.js";
import { CopyStore } from "./store.js";

/** A child node's tier migrations with the copy store's (what openChildContextWithCopies opens). */
export function withCopyMigrations(migrations: Migration[]): Migration[] {
  return [...migrations, ...copyMigrations];
}

/**
 * openChildContext with the ILL and copy senders for the parent link, and the node's CopyStore
 * (the copy migrations added to `migrations`). ILL messages and copies share the parent queue, so
 * a copy's file stays ahead of the CopyCompleted queued after it. Transfers a crash interrupted
 * are swept before anything runs.
 */
export function openChildContextWithCopies(cfg: NodeConfig, migrations: Migration[], parentLabel: string) {
  let copies: CopyStore | undefined;
  const opened = openChildContext(
    cfg,
    withCopyMigrations(migrations),
    parentLabel,
    { ...illParentSenders(), ...copyParentSenders(() => copies) },
    illParentBatch(),
  );
  copies = new CopyStore({
    db: opened.db,
    outbox: opened.outbox,
    dataDir: cfg.dataDir,
    nodeId: cfg.id,
    log: opened.log.child({ part: "copy" }),
  });
  copies.sweep();
  return { ...opened, copies };
}
