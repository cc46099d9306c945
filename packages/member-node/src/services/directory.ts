import type { ServiceImpl } from "@connectrpc/connect";
import { type directoryPb, directoryReadHandlers } from "@lrs/shared";
import type { MemberContext } from "../context.js";

/**
 * A member serves its copy of the directory to its own CLI only; enrollment and registration
 * are the regional center's (not served here, so no rule in policy.ts).
 */
export function directoryService(
  ctx: MemberContext,
  streams: AbortSignal,
): Partial<ServiceImpl<typeof directoryPb.DirectoryService>> {
  return directoryReadHandlers(ctx.directory, streams);
}
