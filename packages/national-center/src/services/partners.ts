import type { ServiceImpl } from "@connectrpc/connect";
import {
  type gatewayPb,
  mapErrors,
  partnerVerifier,
  ValidationError,
  withoutPartnerVerifiers,
} from "@lrs/shared";
import type { NationalContext } from "../context.js";

/** External ILL partners in the directory, for the national center's own CLI. */
export function partnerAdminService(ctx: NationalContext): ServiceImpl<typeof gatewayPb.PartnerAdminService> {
  const log = ctx.log.child({ part: "partners" });
  return {
    putPartner: mapErrors(async (req) => {
      if (!req.partner) throw new ValidationError("partner is required");
      // The partner's secret is kept only as a salted scrypt (or a certificate's fingerprint).
      const inboundVerifier = req.inboundSecret
        ? await partnerVerifier(req.partner.inboundAuth, req.inboundSecret)
        : undefined;
      const res = ctx.directory.putPartner(req.partner, {
        ...(inboundVerifier ? { inboundVerifier } : {}),
        ...(req.outboundSecret ? { outbound: req.outboundSecret } : {}),
      });
      if (res.changed) log.info({ partner: res.partner.id, version: res.version }, "external partner saved");
      const [shown] = withoutPartnerVerifiers({
        ...ctx.directory.current(),
        externalPartners: [res.partner],
      }).externalPartners;
      return { partner: shown ?? res.partner, directoryVersion: res.version, changed: res.changed };
    }),
    // What verifies their secrets stays in the directory store and the centers' replicas.
    listPartners: () => {
      const d = ctx.directory.current();
      return {
        partners: withoutPartnerVerifiers(d).externalPartners,
        partnersOutOfRotas: d.partnersOutOfRotas,
      };
    },
    removePartner: mapErrors((req) => {
      const version = ctx.directory.removePartner(req.id);
      log.warn({ partner: req.id, version }, "external partner removed");
      return { directoryVersion: version };
    }),
  };
}
