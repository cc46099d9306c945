import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type adminPb,
  caPin,
  ID_PATTERN,
  mapErrors,
  outboxAdmin,
  type Renewed,
  renewAdmin,
  Tier,
  trustAnchor,
} from "@lrs/shared";
import type { NationalContext } from "../context.js";

export function adminService(
  ctx: NationalContext,
  status: () => adminPb.GetStatusResponse,
  renew: () => Promise<Renewed>,
): ServiceImpl<typeof adminPb.AdminService> {
  return {
    getStatus: () => status(),
    ...outboxAdmin(ctx.outbox, ctx.log.child({ part: "admin" })),
    ...renewAdmin(renew),

    createEnrollmentToken: mapErrors((req) => {
      const tier = req.tier === Tier.UNSPECIFIED ? Tier.REGIONAL : req.tier;
      if (tier !== Tier.REGIONAL) {
        throw new ConnectError(
          "the national center issues tokens for regional centers; members get theirs from their regional center",
          Code.InvalidArgument,
        );
      }
      if (!ID_PATTERN.test(req.institutionId))
        throw new ConnectError(`institution id "${req.institutionId}" is not valid`, Code.InvalidArgument);
      if (!ID_PATTERN.test(req.region))
        throw new ConnectError(
          `region "${req.region}" is not valid (a regional center needs its region code)`,
          Code.InvalidArgument,
        );
      ctx.directory.assertIdFree(req.institutionId, tier, req.region);
      const t = ctx.tokens.issue(
        caPin(trustAnchor(ctx.ca)),
        req.institutionId,
        tier,
        req.region,
        req.ttlSeconds,
      );
      ctx.log.info({ institution: req.institutionId, region: req.region }, "enrollment token issued");
      return { token: t.token, expiresAt: timestampFromDate(t.expiresAt) };
    }),

    listEnrollmentTokens: () => ({ tokens: ctx.tokens.list() }),

    revokeInstitution: mapErrors((req) => {
      if (req.institutionId === ctx.cfg.id)
        throw new ConnectError("the national center cannot revoke itself", Code.InvalidArgument);
      const res = ctx.directory.revoke(req.institutionId, req.reason || "revoked by operator");
      ctx.log.warn({ institution: req.institutionId, fingerprints: res.fingerprints }, "institution revoked");
      return { directoryVersion: res.version, revokedFingerprints: res.fingerprints };
    }),
  };
}
