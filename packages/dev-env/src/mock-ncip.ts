/**
 * A stand-in for a library ILS's NCIP 2.02 responder (as Koha's NCIPServer or Evergreen's
 * NCIPServer answer): it keeps items, patrons, loans and holds, answers LookupItem, CheckOutItem,
 * CheckInItem, AcceptItem and DeleteItem over HTTP POST, answers a Problem where a real ILS would
 * (Unknown Item, Unknown User, Item Already Checked Out…), records every call, and can be "down"
 * (HTTP 503, as an ILS under maintenance behind its proxy).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ill } from "@lrs/shared";

const NS = "http://www.niso.org/2008/ncip";
const VERSION = "http://www.niso.org/schemas/ncip/v2_02/ncip_v2_02.xsd";

export interface MockNcipItem {
  barcode: string;
  title: string;
  /** NCIP Circulation Status: "Available On Shelf", "On Loan", … */
  status: string;
  /** Made by AcceptItem (a borrowed item), not the library's own. */
  temporary: boolean;
  /** Who has it (checked out) or who it is held for (AcceptItem). */
  user?: string;
  dateDue?: string;
}

/** One call as it arrived. */
export interface MockNcipCall {
  service: string;
  at: Date;
  itemId?: string;
  userId?: string;
  requestId?: string;
  fromAgencyId?: string;
  authentication?: string;
  /** The Problem type it was answered with, if any. */
  problem?: string;
}

export interface MockNcip {
  /** The NCIP responder URL. */
  url: string;
  readonly items: Map<string, MockNcipItem>;
  readonly patrons: Set<string>;
  readonly calls: MockNcipCall[];
  /** While true every call is answered HTTP 503. */
  down: boolean;
  addItem(barcode: string, title?: string, status?: string): void;
  close(): Promise<void>;
}

const child = (n: ill.XmlNode | undefined, local: string) => n?.children.find((c) => c.local === local);
const textOf = (n: ill.XmlNode | undefined, ...path: string[]) => {
  let at = n;
  for (const p of path) at = child(at, p);
  return at?.text.trim() || undefined;
};
const esc = ill.escapeXml;

function message(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<NCIPMessage xmlns="${NS}" xmlns:ncip="${NS}" ncip:version="${VERSION}">${body}</NCIPMessage>\n`;
}

function problem(service: string, type: string, detail: string, element: string, value: string): string {
  return message(
    `<${service}Response><Problem><ProblemType>${esc(type)}</ProblemType><ProblemDetail>${esc(detail)}</ProblemDetail><ProblemElement>${esc(element)}</ProblemElement><ProblemValue>${esc(value)}</ProblemValue></Problem></${service}Response>`,
  );
}

const itemIdXml = (barcode: string) =>
  `<ItemId><ItemIdentifierValue>${esc(barcode)}</ItemIdentifierValue></ItemId>`;
const userIdXml = (user: string) =>
  `<UserId><UserIdentifierValue>${esc(user)}</UserIdentifierValue></UserId>`;

/** Starts the responder on `host:port` (0: any free port). */
export async function startMockNcip(o: {
  agencyId: string;
  patrons?: string[];
  host?: string;
  port?: number;
}): Promise<MockNcip> {
  const items = new Map<string, MockNcipItem>();
  const patrons = new Set(o.patrons ?? []);
  const calls: MockNcipCall[] = [];

  function answer(service: string, req: ill.XmlNode, call: MockNcipCall): string {
    const barcode = call.itemId ?? "";
    const item = items.get(barcode);
    const refuse = (type: string, detail: string, element: string, value: string) => {
      call.problem = type;
      return problem(service, type, detail, element, value);
    };
    switch (service) {
      case "LookupItem": {
        if (!item) return refuse("Unknown Item", "no item has this barcode", "ItemIdentifierValue", barcode);
        return message(
          `<LookupItemResponse>${itemIdXml(barcode)}<ItemOptionalFields><BibliographicDescription><Title>${esc(item.title)}</Title></BibliographicDescription><CirculationStatus>${esc(item.status)}</CirculationStatus><Location><LocationType>Permanent Location</LocationType><LocationName><LocationNameInstance><LocationNameLevel>1</LocationNameLevel><LocationNameValue>${esc(o.agencyId)}</LocationNameValue></LocationNameInstance><LocationNameInstance><LocationNameLevel>2</LocationNameLevel><LocationNameValue>Main stacks</LocationNameValue></LocationNameInstance></LocationName></Location>${item.dateDue ? `<DateDue>${item.dateDue}</DateDue>` : ""}</ItemOptionalFields></LookupItemResponse>`,
        );
      }
      case "CheckOutItem": {
        const user = call.userId ?? "";
        if (!patrons.has(user))
          return refuse("Unknown User", "no patron has this id", "UserIdentifierValue", user);
        if (!item) return refuse("Unknown Item", "no item has this barcode", "ItemIdentifierValue", barcode);
        if (item.status === "On Loan")
          return refuse(
            "Item Already Checked Out",
            `checked out to ${item.user ?? "someone"}`,
            "ItemIdentifierValue",
            barcode,
          );
        const due = textOf(req, "DesiredDateDue") ?? new Date(Date.now() + 28 * 86_400_000).toISOString();
        Object.assign(item, { status: "On Loan", user, dateDue: due });
        return message(
          `<CheckOutItemResponse>${itemIdXml(barcode)}${userIdXml(user)}<DateDue>${esc(due)}</DateDue></CheckOutItemResponse>`,
        );
      }
      case "CheckInItem": {
        if (!item) return refuse("Unknown Item", "no item has this barcode", "ItemIdentifierValue", barcode);
        const user = item.user;
        item.status = item.temporary ? "In Transit Between Library Locations" : "Available On Shelf";
        delete item.user;
        delete item.dateDue;
        return message(
          `<CheckInItemResponse>${itemIdXml(barcode)}${user ? userIdXml(user) : ""}</CheckInItemResponse>`,
        );
      }
      case "AcceptItem": {
        const user = call.userId ?? "";
        if (!patrons.has(user))
          return refuse("Unknown User", "no patron has this id", "UserIdentifierValue", user);
        if (item && !item.temporary)
          return refuse(
            "Duplicate Item",
            "an item of the library has this barcode",
            "ItemIdentifierValue",
            barcode,
          );
        const title = textOf(req, "ItemOptionalFields", "BibliographicDescription", "Title") ?? "";
        items.set(barcode, { barcode, title, status: "Available For Pickup", temporary: true, user });
        return message(
          `<AcceptItemResponse><RequestId><RequestIdentifierValue>${esc(call.requestId ?? "")}</RequestIdentifierValue></RequestId>${itemIdXml(barcode)}</AcceptItemResponse>`,
        );
      }
      case "DeleteItem": {
        if (!item) return refuse("Unknown Item", "no item has this barcode", "ItemIdentifierValue", barcode);
        if (item.user && item.status === "On Loan")
          return refuse("Item Already Checked Out", "the item is on loan", "ItemIdentifierValue", barcode);
        items.delete(barcode);
        return message(`<DeleteItemResponse>${itemIdXml(barcode)}</DeleteItemResponse>`);
      }
      default:
        call.problem = "Unsupported Service";
        return message(
          `<Problem><ProblemType>Unsupported Service</ProblemType><ProblemDetail>the mock answers LookupItem, CheckOutItem, CheckInItem, AcceptItem, DeleteItem</ProblemDetail><ProblemElement>${esc(service)}</ProblemElement></Problem>`,
        );
    }
  }

  const mock: MockNcip = {
    url: "",
    items,
    patrons,
    calls,
    down: false,
    addItem(barcode, title = "", status = "Available On Shelf") {
      items.set(barcode, { barcode, title, status, temporary: false });
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };

  const server = http.createServer((req, res) => {
    const reply = (status: number, body: string, type = "application/xml; charset=utf-8") => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (req.method !== "POST") return reply(405, "NCIP: POST an NCIPMessage\n", "text/plain");
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (mock.down) return reply(503, "<html><body>ILS down for maintenance</body></html>", "text/html");
      let root: ill.XmlNode;
      try {
        root = ill.readXmlTree(Buffer.concat(chunks).toString("utf8"));
      } catch (err) {
        return reply(
          400,
          problem("Unknown", "Invalid Message Syntax Error", (err as Error).message, "NCIPMessage", ""),
        );
      }
      const req0 = root.children[0];
      if (root.local !== "NCIPMessage" || root.uri !== NS || !req0)
        return reply(
          400,
          message(
            "<Problem><ProblemType>Invalid Message Syntax Error</ProblemType><ProblemElement>NCIPMessage</ProblemElement></Problem>",
          ),
        );
      const header = child(req0, "InitiationHeader");
      const call: MockNcipCall = {
        service: req0.local,
        at: new Date(),
      };
      const itemId = textOf(req0, "ItemId", "ItemIdentifierValue");
      const userId = textOf(req0, "UserId", "UserIdentifierValue");
      const requestId = textOf(req0, "RequestId", "RequestIdentifierValue");
      const from = textOf(header, "FromAgencyId", "AgencyId");
      const auth = textOf(header, "FromAgencyAuthentication");
      if (itemId) call.itemId = itemId;
      if (userId) call.userId = userId;
      if (requestId) call.requestId = requestId;
      if (from) call.fromAgencyId = from;
      if (auth) call.authentication = auth;
      calls.push(call);
      if (textOf(header, "ToAgencyId", "AgencyId") !== o.agencyId) {
        call.problem = "Unknown Agency";
        return reply(
          200,
          problem(
            req0.local,
            "Unknown Agency",
            `this ILS is ${o.agencyId}`,
            "ToAgencyId",
            textOf(header, "ToAgencyId", "AgencyId") ?? "",
          ),
        );
      }
      reply(200, answer(req0.local, req0, call));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, o.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  mock.url = `http://${o.host ?? "127.0.0.1"}:${port}/ncip`;
  return mock;
}
