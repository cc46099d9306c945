import { describe, expect, it } from "vitest";
import { Action, ReasonForMessage, Status, YesNo } from "../../gen/lrs/v1/ill_pb.js";
import { confirmationOf } from "../../iso18626/envelope.js";
import { writeIso18626 } from "../../iso18626/xml-write.js";
import { refusalNotice } from "./notices.js";
import { fromPartner, NOW, ownMessages, refused } from "./notices.test-util.js";

const info = (action?: Action) => {
  const n = refusalNotice(refused(action), Status.LOANED, NOW);
  if (n?.message.case !== "supplyingAgencyMessage") throw new Error("no notice");
  return { env: n, v: n.message.value };
};

describe("what the partner is told of a member's refusal", () => {
  it("is Unfilled for a refused request, with the reason, from the member to the partner", () => {
    const { env, v } = info();
    expect([env.originAgencyId, env.destinationAgencyId, env.messageId]).toEqual([
      "north-b",
      "princeton",
      "c-1.notice",
    ]);
    expect(v.statusInfo?.status).toBe(Status.UNFILLED);
    expect(v.messageInfo?.reasonForMessage).toBe(ReasonForMessage.REQUEST_RESPONSE);
    expect(v.messageInfo?.note).toBe("the request was refused: UnsupportedActionType: not in this state");
    expect(v.header?.requestingAgencyRequestId).toBe("P-1");
  });

  it("is a no to a Cancel or Renew, and a Notification for another action, keeping the status", () => {
    expect(info(Action.CANCEL).v.messageInfo).toMatchObject({
      reasonForMessage: ReasonForMessage.CANCEL_RESPONSE,
      answerYesNo: YesNo.N,
    });
    expect(info(Action.RENEW).v.messageInfo).toMatchObject({
      reasonForMessage: ReasonForMessage.RENEW_RESPONSE,
      answerYesNo: YesNo.N,
    });
    const n = info(Action.RECEIVED).v;
    expect(n.messageInfo?.reasonForMessage).toBe(ReasonForMessage.NOTIFICATION);
    expect(n.messageInfo?.note).toMatch(/^Received refused: /);
    expect(n.statusInfo?.status).toBe(Status.LOANED);
  });

  it("is nothing for an OK, or for a confirmation of something else", () => {
    expect(
      refusalNotice(confirmationOf(fromPartner(), [], { now: NOW }), Status.LOANED, NOW),
    ).toBeUndefined();
  });

  it("writes as valid ISO 18626 of both versions (the schema-driven writer refuses anything else)", () => {
    for (const env of ownMessages())
      for (const version of ["2021-2", "1.2"] as const)
        expect(() =>
          writeIso18626({ case: "supplyingAgencyMessage", value: env.message.value as never }, { version }),
        ).not.toThrow();
  });
});
