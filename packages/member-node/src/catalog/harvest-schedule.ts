import type { Database, Logger, NodeConfig } from "@lrs/shared";
import type { MemberCatalog } from "../store/catalog.js";
import { HarvestBusyError } from "../store/harvest-lock.js";
import { harvestCatalog } from "./harvest.js";

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * The node's scheduled harvest (`[harvest] schedule`): once at start, then every `schedule`. A
 * harvest that fails is logged and the next one resumes where it stopped.
 */
export async function runHarvestSchedule(
  o: { cfg: NodeConfig; db: Database; catalog: MemberCatalog; log: Logger },
  signal: AbortSignal,
): Promise<void> {
  const h = o.cfg.harvest;
  if (!h?.schedule) return;
  while (!signal.aborted) {
    try {
      const s = await harvestCatalog(o.db, o.catalog, h, { signal, by: "scheduled" });
      o.log.info(
        {
          source: s.source,
          pages: s.pages,
          added: s.added,
          updated: s.updated,
          deleted: s.deleted,
          rejected: s.rejected,
          rejections: s.rejections.slice(0, 10),
        },
        "harvest finished",
      );
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof HarvestBusyError)
        o.log.info({ holder: err.holder }, `harvest skipped: ${err.message}`);
      else o.log.warn({ err, url: h.url }, "harvest failed; the next one resumes where it stopped");
    }
    await pause(h.schedule, signal);
  }
}
