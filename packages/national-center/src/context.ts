import type { CertificateAuthority, NodeContext } from "@lrs/shared";
import type { DirectoryStore } from "./store/directory-store.js";

/** The national center's dependency bag. */
export interface NationalContext extends NodeContext {
  ca: CertificateAuthority;
  directory: DirectoryStore;
  /** The endpoint others reach this node at (known once listening). */
  endpoint: () => string;
}
