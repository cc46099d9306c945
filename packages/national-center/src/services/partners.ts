import type { ServiceImpl } from "@connectrpc/connect";
import { type gatewayPb, mapErrors, ValidationError } from "@lrs/shared";
import type { NationalContext } from "../context.js";

/** External ILL partners in the directory, for the national center's own CLI. */
export function partnerAdminService(ctx: NationalContext): ServiceImpl<typeof gatewayPb.PartnerAdminService> {
  const log = ctx.log.child({ part: "partners" });
  return {
    putPartner: mapErrors((req) => {
      if (!req.partner) throw new ValidationError("partner is required");
      const res = ctx.directory.putPartner(req.partner, {
        ...(req.inboundSecret ? { inbound: req.inboundSecret } : {}),
        ...(req.outboundSecret ? { outbound: req.outboundSecret } : {}),
      });
      if (res.changed) log.info({ partner: res.partner.id, version: res.version }, "external partner saved");
      return { partner: res.partner, directoryVersion: res.version, changed: res.changed };
    }),
    listPartners: () => ({ partners: ctx.directory.current().externalPartners }),
    removePartner: mapErrors((req) => {
      const version = ctx.directory.removePartner(req.id);
      log.warn({ partner: req.id, version }, "external partner removed");
      return { directoryVersion: version };
    }),
  };
}
