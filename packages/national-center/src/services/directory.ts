import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  describeCertificate,
  type directoryPb,
  directoryReadHandlers,
  EnrollmentError,
  ID_PATTERN,
  mapErrors,
  peerKey,
  signCsr,
  Tier,
  trustAnchor,
} from "@lrs/shared";
import type { NationalContext } from "../context.js";

type Impl = ServiceImpl<typeof directoryPb.DirectoryService>;

/**
 * A renewal, for the caller itself or (from a regional center) for one of its members: signed only
 * for an institution this CA enrolled with that tier and region and has not revoked.
 */
export async function signRenewal(
  ctx: NationalContext,
  caller: { id: string; tier: Tier; region: string },
  forId: string,
  csrPem: string,
): Promise<string> {
  let who = caller;
  if (forId && forId !== caller.id) {
    const enrolled = ctx.directory.enrollment(forId);
    if (
      caller.tier !== Tier.REGIONAL ||
      enrolled?.tier !== Tier.MEMBER ||
      enrolled.region !== caller.region
    ) {
      throw new ConnectError(
        `${caller.id} may renew its own certificate and those of members of region ${caller.region || "-"} only, not ${forId}`,
        Code.PermissionDenied,
      );
    }
    who = { id: forId, tier: Tier.MEMBER, region: caller.region };
  }
  if (ctx.directory.get(who.id)?.revoked || !ctx.directory.enrolledAs(who.id, who.tier, who.region)) {
    throw new ConnectError(
      `${who.id} has no certificate in force (revoked?): it must enroll again with a token`,
      Code.PermissionDenied,
    );
  }
  const certPem = await signAndRecord(ctx, who.id, who.tier, who.region, csrPem);
  ctx.log.info({ institution: who.id, by: caller.id }, "certificate renewed");
  return certPem;
}

async function signAndRecord(
  ctx: NationalContext,
  id: string,
  tier: Tier,
  region: string,
  csrPem: string,
  before?: (fingerprint: string) => void,
): Promise<string> {
  ctx.directory.assertIdFree(id, tier, region);
  const certPem = await signCsr(ctx.ca, csrPem, {
    identity: { id, tier, region },
    notAfter: new Date(Date.now() + ctx.cfg.operations.certificate_lifetime),
  });
  const info = describeCertificate(certPem);
  ctx.db.transaction(() => {
    before?.(info.fingerprint256);
    ctx.directory.recordCertificate({
      serial: info.serialNumber,
      fingerprint: info.fingerprint256,
      institutionId: id,
      tier,
      region,
      notAfter: info.validTo,
    });
  });
  ctx.log.info(
    { institution: id, tier: Tier[tier], region, fingerprint: info.fingerprint256 },
    "certificate issued",
  );
  return certPem;
}

export function directoryService(ctx: NationalContext, streams: AbortSignal): Impl {
  return {
    ...directoryReadHandlers(ctx.directory, streams),

    async getCaCertificate() {
      return { caCertificatePem: trustAnchor(ctx.ca) };
    },

    enroll: mapErrors(async (req) => {
      if (!ID_PATTERN.test(req.institutionId))
        throw new ConnectError(`institution id "${req.institutionId}" is not valid`, Code.InvalidArgument);
      const grant = ctx.tokens.check(req.token, req.institutionId);
      if (grant.tier !== Tier.REGIONAL)
        throw new ConnectError("the national center enrolls regional centers only", Code.PermissionDenied);
      const certPem = await signAndRecord(
        ctx,
        grant.institutionId,
        grant.tier,
        grant.region,
        req.csrPem,
        (fp) => {
          if (!ctx.tokens.consume(grant.tokenId, fp))
            throw new EnrollmentError("enrollment token was already used; ask for a new one");
        },
      );
      return {
        certificatePem: certPem,
        caCertificatePem: trustAnchor(ctx.ca),
        institutionId: grant.institutionId,
        tier: grant.tier,
        region: grant.region,
      };
    }),

    signCertificate: mapErrors(async (req, hctx: HandlerContext) => {
      const peer = hctx.values.get(peerKey);
      if (req.tier !== Tier.MEMBER)
        throw new ConnectError(
          "a regional center may have member certificates signed only",
          Code.PermissionDenied,
        );
      if (req.region !== peer.identity?.region) {
        throw new ConnectError(
          `region "${req.region}" is not the caller's region "${peer.identity?.region}"`,
          Code.PermissionDenied,
        );
      }
      if (!ID_PATTERN.test(req.institutionId))
        throw new ConnectError(`institution id "${req.institutionId}" is not valid`, Code.InvalidArgument);
      return {
        certificatePem: await signAndRecord(ctx, req.institutionId, Tier.MEMBER, req.region, req.csrPem),
      };
    }),

    renewCertificate: mapErrors(async (req, hctx: HandlerContext) => {
      const caller = hctx.values.get(peerKey).identity!;
      return {
        certificatePem: await signRenewal(ctx, caller, req.institutionId, req.csrPem),
        caCertificatePem: trustAnchor(ctx.ca),
      };
    }),

    register: mapErrors(async (req, hctx: HandlerContext) => {
      const peer = hctx.values.get(peerKey);
      const inst = req.institution;
      if (!inst) throw new ConnectError("institution is required", Code.InvalidArgument);
      const caller = peer.identity!;
      if (inst.id === caller.id) {
        // A node registering itself: the certificate it called with is the one on record.
        inst.certFingerprint = peer.fingerprint256 ?? "";
        inst.tier = caller.tier;
        inst.region = caller.region;
      } else if (!(inst.tier === Tier.MEMBER && inst.region === caller.region)) {
        throw new ConnectError(
          `${caller.id} may register itself and members of region ${caller.region} only, not ${inst.id}`,
          Code.PermissionDenied,
        );
      }
      if (!inst.endpoint)
        throw new ConnectError(`institution ${inst.id}: endpoint is required`, Code.InvalidArgument);
      const { institution, changed } = ctx.directory.register(inst);
      if (changed) ctx.log.info({ institution: inst.id, by: caller.id }, "institution registered");
      return { institution, directoryVersion: ctx.directory.current().version };
    }),
  };
}
