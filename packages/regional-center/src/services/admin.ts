import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type adminPb,
  caPin,
  ID_PATTERN,
  mapErrors,
  outboxAdmin,
  type Renewed,
  renewAdmin,
  Tier,
} from "@lrs/shared";
import type { RegionalContext } from "../context.js";

export function adminService(
  ctx: RegionalContext,
  status: () => adminPb.GetStatusResponse,
  renew: () => Promise<Renewed>,
): Partial<ServiceImpl<typeof adminPb.AdminService>> {
  // Revocation is the national center's (lrs-national revoke): not served here.
  return {
    getStatus: () => status(),
    ...outboxAdmin(ctx.outbox, ctx.log.child({ part: "admin" })),
    ...renewAdmin(renew),

    createEnrollmentToken: mapErrors((req) => {
      const tier = req.tier === Tier.UNSPECIFIED ? Tier.MEMBER : req.tier;
      if (tier !== Tier.MEMBER)
        throw new ConnectError("a regional center issues tokens for its members only", Code.InvalidArgument);
      if (req.region && req.region !== ctx.cfg.region) {
        throw new ConnectError(
          `members of this center are in region "${ctx.cfg.region}", not "${req.region}"`,
          Code.InvalidArgument,
        );
      }
      if (!ID_PATTERN.test(req.institutionId))
        throw new ConnectError(`institution id "${req.institutionId}" is not valid`, Code.InvalidArgument);
      const t = ctx.tokens.issue(
        caPin(ctx.tls.caPem),
        req.institutionId,
        Tier.MEMBER,
        ctx.cfg.region,
        req.ttlSeconds,
      );
      ctx.log.info({ institution: req.institutionId }, "member enrollment token issued");
      return { token: t.token, expiresAt: timestampFromDate(t.expiresAt) };
    }),

    listEnrollmentTokens: () => ({ tokens: ctx.tokens.list() }),
  };
}
