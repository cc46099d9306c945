import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { type adminPb, type Logger, type Outbox, outboxAdmin, type Renewed, renewAdmin } from "@lrs/shared";

const notHere = (what: string) => () => {
  throw new ConnectError(`${what} is not done at a member node`, Code.Unimplemented);
};

export function adminService(
  status: () => adminPb.GetStatusResponse,
  outbox: Outbox,
  log: Logger,
  renew: () => Promise<Renewed>,
): ServiceImpl<typeof adminPb.AdminService> {
  return {
    getStatus: () => status(),
    ...outboxAdmin(outbox, log),
    ...renewAdmin(renew),
    createEnrollmentToken: notHere("issuing enrollment tokens"),
    listEnrollmentTokens: notHere("issuing enrollment tokens"),
    revokeInstitution: notHere("revocation"),
  };
}
