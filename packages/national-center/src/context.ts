import type { CertificateAuthority, CopyStore, NodeContext } from "@lrs/shared";
import type { PeerClients, UnionCatalog } from "@lrs/shared/center";
import type { DirectoryStore } from "./store/directory-store.js";
import type { LedgerStore } from "./store/ledger-store.js";

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
  /** Copy files passing through between regions (document delivery). */
  copies: CopyStore;
  /** The federation's ledger: postings from the regional centers, statements, settlement. */
  ledger: LedgerStore;
}
