import type {
  CatalogSyncPusher,
  DirectoryReplica,
  NodeContext,
  ParentLink,
  PeerClients,
  UnionCatalog,
} from "@lrs/shared";

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
}
