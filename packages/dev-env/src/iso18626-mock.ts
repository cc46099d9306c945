// A mock ILL system outside the federation, in the manner of crosslink's illmock: an ISO 18626
// XML peer over HTTP that borrows from LRS (it sends requests and requesting agency messages to
// the gateway) and lends to LRS (it answers requests from the gateway as the request's note
// says: "will supply", "unfilled", "conditional", "copy", "slow", "error"). Tests and demos use it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ill, illPb } from "@lrs/shared";

type Iso18626Message = ill.Iso18626Message;
type AgencyId = { agencyIdType: string; agencyIdValue: string };

export interface MockPartnerOptions {
  /** The partner's own agency id ("ISIL", "US-NjP"). */
  agency: AgencyId;
  /** The LRS gateway's URL (https://…/iso18626) and the federation CA that signs its certificate. */
  gatewayUrl: string;
  caPem: string;
  /** What the partner sends in header/requestingAgencyAuthentication. */
  authentication?: ill.RequestingAgencyAuthentication;
  /** The schema version it writes. */
  version?: ill.Iso18626Version;
  /** How long "slow" waits before answering (ms). */
  slowMs?: number;
}

export interface Received {
  kind: string;
  message: Iso18626Message;
  xml: string;
}

/** The scenario a note asks for (the first one named). */
export function mockScenario(
  note: string,
): "will supply" | "unfilled" | "conditional" | "copy" | "slow" | "error" | undefined {
  const n = note.toLowerCase();
  for (const s of ["will supply", "unfilled", "conditional", "copy", "slow", "error"] as const)
    if (n.includes(s)) return s;
  return undefined;
}

export class MockPartner {
  readonly received: Received[] = [];
  /** While true, every POST is answered HTTP 503 (a partner that is down). */
  down = false;
  #server: Server | undefined;
  #url = "";
  readonly #o: MockPartnerOptions;
  #seq = 0;

  constructor(o: MockPartnerOptions) {
    this.#o = o;
  }

  get url(): string {
    return this.#url;
  }

  async start(port = 0): Promise<string> {
    const server = createServer((req, res) => void this.#handle(req, res));
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/iso18626`;
    return this.#url;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }

  /** POSTs raw text to the gateway and returns the answer's status and body. */
  async postRaw(
    body: string | Uint8Array,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        this.#o.gatewayUrl,
        {
          method: "POST",
          ca: this.#o.caPem,
          headers: { "content-type": "application/xml", ...headers },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
          );
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error("the gateway did not answer in 30 s")));
      req.on("error", reject);
      req.end(body);
    });
  }

  /** Sends one message to the gateway and reads its confirmation. */
  async send(message: Iso18626Message): Promise<{ ok: boolean; errors: string[]; xml: string }> {
    const auth = this.#o.authentication;
    const { xml } = ill.writeIso18626(message, {
      version: this.#o.version ?? "2021-2",
      ...(auth && (message.case === "request" || message.case === "requestingAgencyMessage")
        ? { authentication: auth }
        : {}),
    });
    // The supplying agency message has no authentication element: the same account as HTTP basic.
    const basic: Record<string, string> =
      auth && message.case === "supplyingAgencyMessage"
        ? {
            authorization: `Basic ${Buffer.from(`${auth.accountId}:${auth.securityCode}`).toString("base64")}`,
          }
        : {};
    const { text } = await this.postRaw(xml, basic);
    return { ...confirmationVerdict(text), xml: text };
  }

  /** A loan or copy request to an LRS member (transparent mode): returns the confirmation. */
  request(opts: {
    requestId: string;
    supplier: AgencyId;
    title: string;
    isbn?: string;
    note: string;
    serviceType?: illPb.ServiceType;
  }): Promise<{ ok: boolean; errors: string[]; xml: string }> {
    return this.send({
      case: "request",
      value: create(illPb.RequestSchema, {
        header: {
          supplyingAgencyId: opts.supplier,
          requestingAgencyId: this.#o.agency,
          timestamp: timestampFromDate(new Date()),
          requestingAgencyRequestId: opts.requestId,
        },
        bibliographicInfo: {
          title: opts.title,
          ...(opts.isbn
            ? {
                bibliographicItemId: [
                  { bibliographicItemIdentifierCode: "ISBN", bibliographicItemIdentifier: opts.isbn },
                ],
              }
            : {}),
        },
        serviceInfo: {
          requestType: illPb.RequestType.NEW,
          serviceType: opts.serviceType ?? illPb.ServiceType.LOAN,
          note: opts.note,
        },
      }),
    });
  }

  /** A requesting agency message (Received, ShippedReturn, Cancel, Renew…) about a request. */
  action(opts: {
    requestId: string;
    supplier: AgencyId;
    supplierRequestId?: string;
    action: illPb.Action;
    note?: string;
  }): Promise<{ ok: boolean; errors: string[]; xml: string }> {
    return this.send({
      case: "requestingAgencyMessage",
      value: create(illPb.RequestingAgencyMessageSchema, {
        header: {
          supplyingAgencyId: opts.supplier,
          requestingAgencyId: this.#o.agency,
          timestamp: timestampFromDate(new Date(Date.now() + ++this.#seq)),
          requestingAgencyRequestId: opts.requestId,
          supplyingAgencyRequestId: opts.supplierRequestId ?? "",
        },
        action: opts.action,
        note: opts.note ?? "",
      }),
    });
  }

  /** The supplying agency messages received about one request, in order. */
  statusesOf(requestId: string): string[] {
    return this.received
      .filter(
        (r) =>
          r.message.case === "supplyingAgencyMessage" &&
          r.message.value.header?.requestingAgencyRequestId === requestId,
      )
      .map((r) => {
        const v = r.message.value as illPb.SupplyingAgencyMessage;
        return ill.ISO18626_CODES.status.toXml(v.statusInfo?.status ?? 0) ?? "";
      });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.down) {
      res.writeHead(503, { "retry-after": "1" });
      res.end("down for maintenance\n");
      return;
    }
    const text = Buffer.concat(chunks).toString("utf8");
    const reply = (xml: string) => {
      res.writeHead(200, { "content-type": "application/xml; charset=utf-8" });
      res.end(xml);
    };
    let read: ill.Iso18626Read;
    try {
      read = ill.readIso18626(text);
    } catch (err) {
      const e = err as ill.Iso18626ReadError;
      reply(this.#confirm(e.kind, e.header, undefined, { type: e.errorType, value: e.errorValue }));
      return;
    }
    const m = read.message;
    this.received.push({ kind: m.case, message: m, xml: text });
    const header = "header" in m.value ? (m.value.header as illPb.Header | undefined) : undefined;
    if (m.case === "request") {
      const scenario = mockScenario(m.value.serviceInfo?.note ?? "");
      if (scenario === "error") {
        reply(
          this.#confirm(m.case, header, m, {
            type: illPb.ErrorType.UNRECOGNISED_DATA_VALUE,
            value: "request/serviceInfo/note: the mock partner refuses (error scenario)",
          }),
        );
        return;
      }
      if (scenario === "slow") await new Promise((r) => setTimeout(r, this.#o.slowMs ?? 2000));
      reply(this.#confirm(m.case, header, m));
      // Answer as a lender, after the confirmation, as a real system does.
      setTimeout(() => void this.#lend(m.value as illPb.Request, scenario).catch(() => {}), 50);
      return;
    }
    reply(this.#confirm(m.case, header, m));
    // As a lender: an item sent back is checked in, and the loan is complete.
    if (m.case === "requestingAgencyMessage" && m.value.action === illPb.Action.SHIPPED_RETURN)
      setTimeout(
        () =>
          void this.#status(
            m.value.header,
            illPb.Status.LOAN_COMPLETED,
            illPb.ReasonForMessage.STATUS_CHANGE,
          ).catch(() => {}),
        50,
      );
  }

  /** A supplying agency message about a request this partner lends for. */
  #status(
    h: illPb.Header | undefined,
    status: illPb.Status,
    reasonForMessage: illPb.ReasonForMessage,
    init: Record<string, unknown> = {},
  ) {
    return this.send({
      case: "supplyingAgencyMessage",
      value: create(illPb.SupplyingAgencyMessageSchema, {
        header: {
          supplyingAgencyId: this.#o.agency,
          requestingAgencyId: h?.requestingAgencyId,
          timestamp: timestampFromDate(new Date(Date.now() + ++this.#seq)),
          requestingAgencyRequestId: h?.requestingAgencyRequestId ?? "",
          supplyingAgencyRequestId: `mock-${h?.requestingAgencyRequestId ?? ""}`,
        },
        messageInfo: { reasonForMessage },
        statusInfo: { status, lastChange: timestampFromDate(new Date()) },
        ...init,
      }),
    });
  }

  async #lend(req: illPb.Request, scenario: ReturnType<typeof mockScenario>): Promise<void> {
    const h = req.header;
    const sam = (status: illPb.Status, init: Record<string, unknown> = {}) =>
      this.#status(h, status, illPb.ReasonForMessage.REQUEST_RESPONSE, init);
    const copy = req.serviceInfo?.serviceType === illPb.ServiceType.COPY || scenario === "copy";
    switch (scenario) {
      case "unfilled":
        await sam(illPb.Status.UNFILLED, {
          messageInfo: {
            reasonForMessage: illPb.ReasonForMessage.REQUEST_RESPONSE,
            reasonUnfilled: illPb.ReasonUnfilled.NOT_ON_SHELF,
          },
        });
        return;
      case "conditional":
        await sam(illPb.Status.RETRY_POSSIBLE, {
          messageInfo: {
            reasonForMessage: illPb.ReasonForMessage.REQUEST_RESPONSE,
            reasonRetry: illPb.ReasonRetry.MUST_MEET_LOAN_CONDITION,
          },
          retryInfo: { loanCondition: [illPb.LoanCondition.LIBRARY_USE_ONLY] },
        });
        return;
      default: {
        await sam(illPb.Status.WILL_SUPPLY);
        const status = { reasonForMessage: illPb.ReasonForMessage.STATUS_CHANGE };
        if (copy)
          await sam(illPb.Status.COPY_COMPLETED, {
            messageInfo: status,
            deliveryInfo: {
              dateSent: timestampFromDate(new Date()),
              url: `${this.#url.replace(/\/iso18626$/, "")}/copies/${encodeURIComponent(h?.requestingAgencyRequestId ?? "")}.pdf`,
            },
          });
        else
          await sam(illPb.Status.LOANED, {
            messageInfo: status,
            deliveryInfo: { dateSent: timestampFromDate(new Date()), itemId: ["MOCK-ITEM-1"] },
            statusInfo: {
              status: illPb.Status.LOANED,
              dueDate: timestampFromDate(new Date(Date.now() + 28 * 86_400_000)),
              lastChange: timestampFromDate(new Date()),
            },
          });
      }
    }
  }

  #confirm(
    kind: ill.Iso18626MessageKind | undefined,
    header: illPb.Header | undefined,
    about: Iso18626Message | undefined,
    error?: { type: illPb.ErrorType; value: string },
  ): string {
    const confirmationHeader = {
      supplyingAgencyId: header?.supplyingAgencyId,
      requestingAgencyId: header?.requestingAgencyId,
      timestamp: timestampFromDate(new Date()),
      requestingAgencyRequestId: header?.requestingAgencyRequestId ?? "",
      timestampReceived: header?.timestamp ?? timestampFromDate(new Date()),
      messageStatus: error ? illPb.MessageStatus.ERROR : illPb.MessageStatus.OK,
    };
    const errorData = error ? [{ errorType: error.type, errorValue: error.value }] : [];
    const version = this.#o.version ?? "2021-2";
    const which = (kind && ill.confirmationKindOf(kind)) ?? "requestConfirmation";
    if (which === "supplyingAgencyMessageConfirmation")
      return ill.writeIso18626(
        {
          case: which,
          value: create(illPb.SupplyingAgencyMessageConfirmationSchema, {
            confirmationHeader,
            reasonForMessage:
              about?.case === "supplyingAgencyMessage" ? (about.value.messageInfo?.reasonForMessage ?? 0) : 0,
            errorData,
          }),
        },
        { version },
      ).xml;
    if (which === "requestingAgencyMessageConfirmation")
      return ill.writeIso18626(
        {
          case: which,
          value: create(illPb.RequestingAgencyMessageConfirmationSchema, {
            confirmationHeader,
            action: about?.case === "requestingAgencyMessage" ? about.value.action : 0,
            errorData,
          }),
        },
        { version },
      ).xml;
    return ill.writeIso18626(
      {
        case: "requestConfirmation",
        value: create(illPb.RequestConfirmationSchema, { confirmationHeader, errorData }),
      },
      { version },
    ).xml;
  }
}

/** OK or ERROR, with "<errorType>: <errorValue>" for each error, of a confirmation's XML. */
export function confirmationVerdict(xml: string): { ok: boolean; errors: string[] } {
  const read = ill.readIso18626(xml);
  const v = read.message.value as {
    confirmationHeader?: { messageStatus: illPb.MessageStatus };
    errorData?: Array<{ errorType: illPb.ErrorType; errorValue: string }>;
  };
  if (!v.confirmationHeader) throw new Error(`not a confirmation: ${read.message.case}`);
  return {
    ok: v.confirmationHeader.messageStatus === illPb.MessageStatus.OK,
    errors: (v.errorData ?? []).map(
      (e) => `${ill.ISO18626_CODES.errorType.toXml(e.errorType) ?? "?"}: ${e.errorValue}`,
    ),
  };
}
