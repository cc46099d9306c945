// A member's link to its ILS over NCIP, as the node wires it: the client (`[ncip]`), the durable
// queue, the transition hook that fills it, and the runner that empties it.
import type { Database, Logger, NcipConfig } from "@lrs/shared";
import type { TransitionChange } from "../ill/request.js";
import type { IllStore } from "../ill/store.js";
import type { MemberCatalog } from "../store/catalog.js";
import { NcipClient } from "./client.js";
import { ncipTransitionHook } from "./hooks.js";
import { NcipQueue } from "./queue.js";
import { NcipRunner } from "./runner.js";

export interface NcipLink {
  readonly client: NcipClient;
  readonly queue: NcipQueue;
  /** For IllEngineOptions.onTransition. */
  readonly onTransition: (change: TransitionChange) => void;
  /** The runner, once the ILL store exists. */
  runner(store: IllStore): NcipRunner;
}

export function ncipLinkOf(o: {
  cfg: NcipConfig;
  memberId: string;
  db: Database;
  catalog: MemberCatalog;
  log: Logger;
}): NcipLink {
  const client = new NcipClient(o.cfg, o.memberId);
  const queue = new NcipQueue(o.db);
  return {
    client,
    queue,
    onTransition: ncipTransitionHook(queue, (s) => client.uses(s)),
    runner: (store) =>
      new NcipRunner({ cfg: o.cfg, queue, store, call: { client, queue, catalog: o.catalog }, log: o.log }),
  };
}
