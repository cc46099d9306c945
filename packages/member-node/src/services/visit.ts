// VisitService at a member: the end of a credential check's way, at the reader's home library.
import type { ServiceImpl } from "@connectrpc/connect";
import { mapErrors, type visitPb } from "@lrs/shared";
import type { VisitDesk } from "../visit/desk.js";

/** CheckVisitor: whether one of this library's credentials is good now (it comes from the regional center). */
export function visitService(
  desk: Pick<VisitDesk, "answer">,
): Partial<ServiceImpl<typeof visitPb.VisitService>> {
  return {
    checkVisitor: mapErrors((req) => desk.answer(req)),
  };
}
