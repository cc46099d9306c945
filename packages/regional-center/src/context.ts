import type { CatalogSyncPusher, CopyStore, DirectoryReplica, NodeContext, ParentLink } from "@lrs/shared";
import type { PeerClients, UnionCatalog } from "@lrs/shared/center";
import type { LedgerRelay } from "./store/ledger-relay.js";

/** The regional center's dependency bag. */
export interface RegionalContext extends NodeContext {
  directory: DirectoryReplica;
  national: ParentLink;
  /** The regional union catalog, fed by the members and forwarded to the national center. */
  union: UnionCatalog;
  /** Pushes the union catalog's changes to the national center. */
  pusher: CatalogSyncPusher;
  /** Connections to members (availability) and peer regional centers (search fallback). */
  peers: PeerClients;
  /** Copy files passing through (document delivery). */
  copies: CopyStore;
  /** Members' ledger postings on their way to the national center. */
  ledger: LedgerRelay;
}
