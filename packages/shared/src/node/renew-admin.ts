// AdminService.RenewOwnCertificate, the same at every tier: `lrs-<tier> renew` asks the running
// node to renew its certificate now, as it does by itself when two thirds of its lifetime passed.

import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type RenewOwnCertificateResponse,
  RenewOwnCertificateResponseSchema,
} from "../gen/lrs/v1/admin_pb.js";
import type { Renewed } from "./base-node.js";
import { RenewalError } from "./renewal.js";

export function renewAdmin(renew: () => Promise<Renewed>) {
  return {
    async renewOwnCertificate(): Promise<RenewOwnCertificateResponse> {
      try {
        const r = await renew();
        return create(RenewOwnCertificateResponseSchema, {
          fingerprint: r.current.fingerprint256,
          notAfter: timestampFromDate(r.current.validTo),
          previousFingerprint: r.previous.fingerprint256,
        });
      } catch (err) {
        if (err instanceof ConnectError) throw err;
        throw new ConnectError(
          (err as Error).message,
          err instanceof RenewalError ? Code.FailedPrecondition : Code.Internal,
        );
      }
    },
  };
}
