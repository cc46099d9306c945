import type { ServiceImpl } from "@connectrpc/connect";
import { type adminPb, type Logger, type Outbox, outboxAdmin, type Renewed, renewAdmin } from "@lrs/shared";

export function adminService(
  status: () => adminPb.GetStatusResponse,
  outbox: Outbox,
  log: Logger,
  renew: () => Promise<Renewed>,
): Partial<ServiceImpl<typeof adminPb.AdminService>> {
  // Enrollment tokens and revocation are the centers' (not served here, so no rule in policy.ts).
  return {
    getStatus: () => status(),
    ...outboxAdmin(outbox, log),
    ...renewAdmin(renew),
  };
}
