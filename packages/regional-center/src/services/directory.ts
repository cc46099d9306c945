import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  describeCertificate,
  directoryPb,
  directoryReadHandlers,
  EnrollmentError,
  ID_PATTERN,
  mapErrors,
  peerKey,
  Tier,
} from "@lrs/shared";
import type { RegionalContext } from "../context.js";

/** How long a member's Register waits for the national center's acknowledgement before answering "accepted, pending". */
const REGISTER_WAIT_MS = 3_000;

/** A call to the national center on a member's behalf: its refusal passed on as such, anything else as "try later". */
async function fromNational<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const ce = ConnectError.from(err);
    if (
      ce.code === Code.InvalidArgument ||
      ce.code === Code.PermissionDenied ||
      ce.code === Code.FailedPrecondition
    ) {
      throw new ConnectError(`national center refused: ${ce.rawMessage}`, ce.code);
    }
    throw new ConnectError(
      `national center unreachable, try again later: ${ce.rawMessage}`,
      Code.Unavailable,
    );
  }
}

export function directoryService(
  ctx: RegionalContext,
  streams: AbortSignal,
): Partial<ServiceImpl<typeof directoryPb.DirectoryService>> {
  // Certificates are signed by the national center: SignCertificate is not served here.
  return {
    ...directoryReadHandlers(ctx.directory, streams),

    async getCaCertificate() {
      return { caCertificatePem: ctx.tls.caPem };
    },

    /**
     * A member enrolls here with a token this center issued; the certificate
     * itself is signed by the national center, the federation's only CA.
     */
    enroll: mapErrors(async (req) => {
      if (!ID_PATTERN.test(req.institutionId))
        throw new ConnectError(`institution id "${req.institutionId}" is not valid`, Code.InvalidArgument);
      const grant = ctx.tokens.check(req.token, req.institutionId);
      const { certificatePem } = await fromNational(() =>
        ctx.national.directory.signCertificate(
          {
            institutionId: grant.institutionId,
            tier: Tier.MEMBER,
            region: ctx.cfg.region,
            csrPem: req.csrPem,
          },
          { timeoutMs: 15_000 },
        ),
      );
      const fp = describeCertificate(certificatePem).fingerprint256;
      ctx.db.transaction(() => {
        if (!ctx.tokens.consume(grant.tokenId, fp))
          throw new EnrollmentError("enrollment token was already used; ask for a new one");
      });
      ctx.log.info({ institution: grant.institutionId, fingerprint: fp }, "member enrolled");
      return {
        certificatePem,
        caCertificatePem: ctx.tls.caPem,
        institutionId: grant.institutionId,
        tier: Tier.MEMBER,
        region: ctx.cfg.region,
      };
    }),

    /** A member renews its own certificate; the national center signs it. */
    renewCertificate: mapErrors(async (req, hctx: HandlerContext) => {
      const member = hctx.values.get(peerKey).identity!;
      if (req.institutionId && req.institutionId !== member.id)
        throw new ConnectError(
          `${member.id} may renew its own certificate only, not ${req.institutionId}`,
          Code.PermissionDenied,
        );
      const { certificatePem } = await fromNational(() =>
        ctx.national.directory.renewCertificate(
          { csrPem: req.csrPem, institutionId: member.id },
          { timeoutMs: 15_000 },
        ),
      );
      ctx.log.info(
        { institution: member.id, fingerprint: describeCertificate(certificatePem).fingerprint256 },
        "member certificate renewed",
      );
      return { certificatePem, caCertificatePem: ctx.tls.caPem };
    }),

    /** A member registers itself; the registration is stored and forwarded to the national center. */
    register: mapErrors(async (req, hctx: HandlerContext) => {
      const peer = hctx.values.get(peerKey);
      const inst = req.institution;
      if (!inst) throw new ConnectError("institution is required", Code.InvalidArgument);
      if (inst.id !== peer.identity?.id) {
        throw new ConnectError(
          `${peer.identity?.id} may register itself only, not ${inst.id}`,
          Code.PermissionDenied,
        );
      }
      if (!inst.endpoint)
        throw new ConnectError(`institution ${inst.id}: endpoint is required`, Code.InvalidArgument);
      // What the certificate proves wins over what the message says.
      inst.certFingerprint = peer.fingerprint256 ?? "";
      inst.tier = Tier.MEMBER;
      inst.region = ctx.cfg.region;
      const directoryVersion = await ctx.national.register(
        create(directoryPb.RegisterRequestSchema, { institution: inst }),
        REGISTER_WAIT_MS,
      );
      return { institution: inst, directoryVersion };
    }),
  };
}
