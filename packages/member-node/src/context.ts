import type { CatalogSyncPusher, DirectoryReplica, NodeContext, ParentLink } from "@lrs/shared";
import type { CopyrightCounter } from "./fees/copyright.js";
import type { MemberLedger } from "./fees/ledger.js";
import type { IllEngine } from "./ill/engine.js";
import type { NcipLink } from "./ncip/link.js";
import type { MemberCatalog } from "./store/catalog.js";

/** The member node's dependency bag. */
export interface MemberContext extends NodeContext {
  directory: DirectoryReplica;
  regional: ParentLink;
  /** The library's own catalog: records, items, and the change log pushed upward. */
  catalog: MemberCatalog;
  /** Pushes the catalog's change log to the regional center. */
  pusher: CatalogSyncPusher;
  /** Interlibrary loan: the requests, their timers, the inbox and the automatic responder. */
  ill: IllEngine;
  /** The copyright rule's counts of the copies this member borrows. */
  copyright: CopyrightCounter;
  /** The charges this member posted as a borrower (and their reversals). */
  ledger: MemberLedger;
  /** NCIP to the library's ILS, when `[ncip]` is set. */
  ncip?: NcipLink;
}
