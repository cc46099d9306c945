import type { DirectoryReplica, NodeContext, ParentLink } from "@lrs/shared";

/** The regional center's dependency bag. */
export interface RegionalContext extends NodeContext {
  directory: DirectoryReplica;
  national: ParentLink;
}
