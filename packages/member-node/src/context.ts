import type { DirectoryReplica, NodeContext, ParentLink } from "@lrs/shared";

/** The member node's dependency bag. */
export interface MemberContext extends NodeContext {
  directory: DirectoryReplica;
  regional: ParentLink;
}
