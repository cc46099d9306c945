import type { CertificateAuthority, NodeContext, PeerClients, UnionCatalog } from "@lrs/shared";
import type { DirectoryStore } from "./store/directory-store.js";

/** The national center's dependency bag. */
export interface NationalContext extends NodeContext {
  ca: CertificateAuthority;
  directory: DirectoryStore;
  /** The national union catalog, fed by the regional centers. */
  union: UnionCatalog;
  /** Connections to regional centers (availability of their members' records). */
  peers: PeerClients;
  /** The endpoint others reach this node at (known once listening). */
  endpoint: () => string;
}
