import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { acquisitionsPb, type Database, mapErrors, ValidationError } from "@lrs/shared";
import { type CheckTitleOptions, checkTitleService } from "../acquisitions/check-title.js";
import { AcquisitionsError } from "../acquisitions/orders.js";
import { setRetention } from "../acquisitions/retention.js";
import { orderService } from "./orders.js";

/** AcquisitionsService at a member, for its own staff: the buy-or-borrow check, orders and retention commitments. */
export function acquisitionsService(
  o: CheckTitleOptions & { db: Database },
): Partial<ServiceImpl<typeof acquisitionsPb.AcquisitionsService>> {
  return {
    ...checkTitleService(o),
    ...orderService(o),
    setRetention: mapErrors((req: acquisitionsPb.SetRetentionRequest) => {
      if (req.barcodes.length === 0) throw new ValidationError("barcodes: give at least one");
      try {
        const done = setRetention(
          o.db,
          o.catalog,
          req.barcodes,
          req.retainedUntil === 0 ? null : req.retainedUntil,
        );
        return create(acquisitionsPb.SetRetentionResponseSchema, {
          items: done.map((d) => ({
            barcode: d.barcode,
            recordId: d.recordId,
            retainedUntil: d.retainedUntil ?? 0,
          })),
        });
      } catch (err) {
        if (err instanceof AcquisitionsError) throw new ValidationError(err.message);
        throw err;
      }
    }),
  };
}
