// VisitStaffService: the visiting-reader desk for this member's CLI and web application.
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { mapErrors, visitPb } from "@lrs/shared";
import type { VisitDesk } from "../visit/desk.js";

export function visitStaffService(desk: VisitDesk): ServiceImpl<typeof visitPb.VisitStaffService> {
  return {
    issueCredential: mapErrors((req) => desk.issue(req)),
    blockCredential: mapErrors((req) => desk.block(req)),
    checkCredential: mapErrors(async (req) => (await desk.check(req.credential, req.offline)).response),
    lendToVisitor: mapErrors((req) => desk.lend(req)),
    returnFromVisitor: mapErrors((req) =>
      create(visitPb.ReturnFromVisitorResponseSchema, { loan: desk.returnItem(req) }),
    ),
    receiveShipment: mapErrors((req) =>
      create(visitPb.ReceiveShipmentResponseSchema, { loan: desk.receiveShipment(req.shipmentId) }),
    ),
    listVisits: mapErrors((req) => desk.list(req)),
    rotateSigningKey: mapErrors(() => desk.rotateSigningKey()),
  };
}
