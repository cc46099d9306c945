// The ISO 18626 XML gateway through real node processes and a mock partner over HTTP(S): an
// outside library borrows from an LRS member (transparent mode) and from the federation itself
// (broker mode: a lender in one region refuses, one in another region lends) through every step
// to LoanCompleted, the same message twice, a partner that is down for a while, bad XML of each
// kind, and partners that are unknown or do not authenticate.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { type Federation, MockPartner, REPO_ROOT } from "@lrs/dev-env";
import { ill, illPb, illServicePb } from "@lrs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pem, startFederation } from "./harness.js";
import { BOTH_REGIONS_ISBNS, lenderConfig as LENDER, NLM, writeItems } from "./ill-harness.js";

const SPEC = {
  national: { id: "nat", name: "Test National Center" },
  regions: [
    {
      region: "north",
      id: "north-rc",
      name: "North Test Center",
      members: [{ id: "north-b", name: "North Library B", extraConfig: LENDER("3s") }],
    },
    {
      region: "south",
      id: "south-rc",
      name: "South Test Center",
      members: [{ id: "south-a", name: "South Library A", extraConfig: LENDER("3s") }],
    },
  ],
};

const PARTNER = { agencyIdType: "ISIL", agencyIdValue: "US-NjP" };
const NORTH_B = { agencyIdType: "LRS", agencyIdValue: "north-b" };
/** The federation itself (the national center's agency id): broker mode. */
const FEDERATION = { agencyIdType: "LRS", agencyIdValue: "nat" };

let fed: Federation;
let destroy: (() => Promise<void>) | undefined;
let mock: MockPartner;

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The supplying agency messages the partner received about one of its requests, in order, with their XML. */
function receivedAbout(isoId: string) {
  return mock.received.filter(
    (m) =>
      m.message.case === "supplyingAgencyMessage" &&
      m.message.value.header?.requestingAgencyRequestId === isoId,
  );
}

function messagesAbout(isoId: string): illPb.SupplyingAgencyMessage[] {
  return receivedAbout(isoId).map((m) => m.message.value as illPb.SupplyingAgencyMessage);
}

/** A request of the partner to the federation (broker mode); waits until the partner hears `status`. */
async function askFederation(
  requestId: string,
  o: { title: string; isbn?: string; note: string },
  status: string,
): Promise<string[]> {
  expect(await mock.request({ requestId, supplier: FEDERATION, ...o })).toMatchObject({
    ok: true,
    errors: [],
  });
  await until(
    `${status} of ${requestId} at the partner`,
    () => mock.statusesOf(requestId).includes(status) || undefined,
    90_000,
  );
  return mock.statusesOf(requestId);
}

/** The partner receives the loan and sends it back; waits for LoanCompleted. */
async function receiveAndReturn(requestId: string, supplier: typeof NORTH_B): Promise<void> {
  for (const action of [illPb.Action.RECEIVED, illPb.Action.SHIPPED_RETURN])
    expect((await mock.action({ requestId, supplier, action })).ok).toBe(true);
  await until(
    `LoanCompleted of ${requestId} at the partner`,
    () => mock.statusesOf(requestId).includes("LoanCompleted") || undefined,
    60_000,
  );
}

beforeAll(async () => {
  // The national center writes its traffic figures every second (the gateway's, by partner).
  const started = await startFederation(SPEC, { env: { NATIONAL_TRAFFIC_FLUSH_INTERVAL: "1s" } });
  destroy = started.destroy;
  fed = started.fed;
  // NLM's records with items at north-b and south-a: held in both regions (broker mode's rota).
  const itemsDir = join(fed.dir, "items");
  mkdirSync(itemsDir, { recursive: true });
  await Promise.all(
    ["north-b", "south-a"].map(async (id) => {
      const items = join(itemsDir, `${id}.csv`);
      await writeItems(id, [NLM], items);
      const node = fed.node(id);
      await fed.cli(node, ["import", "--config", node.config, "--items", items, NLM]);
    }),
  );
  await fed.waitSynced(90_000);
  const national = fed.node("nat");
  expect(national.iso18626).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/iso18626$/);
  mock = new MockPartner({
    agency: PARTNER,
    gatewayUrl: national.iso18626!,
    caPem: pem(national.caCert),
    authentication: { accountId: "princeton", securityCode: "s3cret" },
  });
  const url = await mock.start();
  await fed.cli(national, [
    "partner",
    "add",
    "--config",
    national.config,
    "--id",
    "princeton",
    "--name",
    "Princeton University Library",
    "--agency",
    "ISIL:US-NjP",
    "--url",
    url,
    "--auth",
    "account",
    "--account",
    "princeton",
    "--secret",
    "s3cret",
    "--lends",
    "loan,copy",
    "--borrows",
    "loan,copy",
    "--currency",
    "USD",
    "--loan-fee",
    "12.00",
  ]);
  // The member's regional center routes the member's answers to the partner: it needs the entry.
  const rc = fed.node("north-rc");
  await until(
    "the partner in north-rc's directory",
    async () =>
      (await fed.cli(rc, ["directory", "--config", rc.config])).includes("ISIL:US-NjP") || undefined,
  );
  // Enrolling a federation through the CLI takes a minute or more on a busy machine.
}, 300_000);

afterAll(async () => {
  await mock?.stop();
  await destroy?.();
});

describe("the ISO 18626 gateway", () => {
  it("lists the partner and shows the institutions' ISO agency ids", async () => {
    const national = fed.node("nat");
    const list = JSON.parse(
      await fed.cli(national, ["partner", "list", "--config", national.config, "--json"]),
    ) as {
      partners: Array<{
        id: string;
        agencyIdValue: string;
        inboundSecretSha256?: string;
        inboundVerifier?: string;
      }>;
    };
    expect(list.partners.map((p) => [p.id, p.agencyIdValue])).toEqual([["princeton", "US-NjP"]]);
    // The partner's secret: a salted scrypt that only centers hold; never a digest, never shown.
    expect(list.partners[0]?.inboundSecretSha256).toBeUndefined();
    expect(list.partners[0]?.inboundVerifier).toBeUndefined();
    const partnerAt = async (id: string) => {
      const node = fed.node(id);
      const d = JSON.parse(await fed.cli(node, ["directory", "--config", node.config, "--json"])) as {
        externalPartners?: Array<{ id: string; inboundVerifier?: string; inboundSecretSha256?: string }>;
      };
      return d.externalPartners?.[0];
    };
    expect((await partnerAt("north-rc"))?.inboundVerifier).toMatch(/^scrypt\$131072\$8\$1\$/);
    const atMember = await until("the partner in north-b's directory", () => partnerAt("north-b"));
    expect(atMember.id).toBe("princeton");
    expect(atMember.inboundVerifier).toBeUndefined();
    expect(atMember.inboundSecretSha256).toBeUndefined();
    // The national setting: partners may close rotas (each region decides for its members).
    expect(await fed.cli(national, ["partner", "list", "--config", national.config])).toMatch(
      /^in rotas: yes — last resort after LRS holders/,
    );
    const shown = await fed.cli(national, ["partner", "show", "princeton", "--config", national.config]);
    expect(shown).toMatch(/may borrow +yes \(loans, copies\)/);
    expect(shown).toMatch(/fees +loan 12\.00 USD/);
    const dir = await fed.cli(national, ["directory", "--config", national.config]);
    expect(dir).toMatch(/north-b +member +north +LRS:north-b/);
  });

  it("brokers an outside borrower's request to the federation: one lender refuses, another region's lends, to LoanCompleted", async () => {
    // The rota for a partner (of no region) orders by availability, then loans lent less
    // borrowed, then id: before any other loan of this file, north-b comes before south-a.
    await askFederation(
      "B-1",
      {
        title: "Brokered",
        isbn: BOTH_REGIONS_ISBNS[0]!,
        note: "scenario:north-b=unfilled scenario:south-a=loaned",
      },
      "Loaned",
    );
    const statuses = mock.statusesOf("B-1");
    expect(statuses).not.toContain("Unfilled");
    expect(statuses.indexOf("ExpectToSupply")).toBeGreaterThanOrEqual(0);
    expect(statuses.indexOf("ExpectToSupply")).toBeLessThan(statuses.indexOf("Loaned"));
    // The partner sees only the federation, with one supplier request id throughout.
    const about = receivedAbout("B-1");
    const headers = messagesAbout("B-1").map((m) => m.header!);
    expect(new Set(headers.map((h) => h.supplyingAgencyId?.agencyIdValue))).toEqual(new Set(["nat"]));
    expect(new Set(headers.map((h) => h.supplyingAgencyRequestId)).size).toBe(1);
    for (const m of about) expect(m.xml).not.toMatch(/north-b|south-a/);
    // north-b was asked first and refused; south-a, in the other region, lends.
    const lenderRequest = (member: string, id: string) =>
      fed
        .withClient(member, illServicePb.IllStaffService, (c) => c.listRequests({ role: "lender" }))
        .then((l) => l.requests.find((r) => r.requestingAgencyRequestId === id));
    expect((await lenderRequest("north-b", "B-1/b1"))?.status).toBe("unfilled");
    expect(await lenderRequest("south-a", "B-1/b2")).toBeDefined();
    await receiveAndReturn("B-1", FEDERATION);
    const national = fed.node("nat");
    const trace = await fed.cli(national, ["ill", "trace", "B-1", "--config", national.config]);
    expect(trace).toMatch(/south-rc/);
    expect(trace).toMatch(/north-rc/);
  });

  it("tells the partner Unfilled once, when every lender of the federation's rota has refused", async () => {
    // One lender refuses the request outright (an ERROR confirmation), the other answers Unfilled.
    await askFederation(
      "B-2",
      {
        title: "Nobody lends it",
        isbn: BOTH_REGIONS_ISBNS[1]!,
        note: "scenario:north-b=error scenario:south-a=unfilled",
      },
      "Unfilled",
    );
    await new Promise((r) => setTimeout(r, 1000));
    const statuses = mock.statusesOf("B-2");
    expect(statuses.filter((s) => s === "Unfilled")).toHaveLength(1);
    expect(statuses.at(-1)).toBe("Unfilled");
    expect(statuses).toContain("ExpectToSupply");
    // A request the federation cannot find at all: Unfilled, saying why.
    await askFederation("B-3", { title: "Zzyzx qwerty unheld", note: "" }, "Unfilled");
    expect(messagesAbout("B-3").at(-1)?.messageInfo?.note).toMatch(
      /^no library of the federation can supply it/,
    );
  });

  it("passes over a lender of the federation that does not answer in its response time", async () => {
    // north-b (asked first: it has lent nothing) says nothing; its response time is 3 s.
    await askFederation(
      "B-4",
      {
        title: "Silent first lender",
        isbn: BOTH_REGIONS_ISBNS[2]!,
        note: "scenario:north-b=no-answer scenario:south-a=loaned",
      },
      "Loaned",
    );
    expect(mock.statusesOf("B-4")).not.toContain("Unfilled");
    expect(mock.statusesOf("B-4")).toContain("ExpectToSupply");
    // The silent lender was told the request is withdrawn.
    await until("the request withdrawn at north-b", async () => {
      const r = (
        await fed.withClient("north-b", illServicePb.IllStaffService, (c) =>
          c.listRequests({ role: "lender" }),
        )
      ).requests.find((x) => x.requestingAgencyRequestId === "B-4/b1");
      return r?.status === "cancelled" ? r : undefined;
    });
    await receiveAndReturn("B-4", FEDERATION);
  });

  it("takes the README's example request and answers with the README's confirmation", async () => {
    // README "Interlibrary loan with systems outside the federation": the curl body and the
    // confirmation shown, with this test's member, secret and request id.
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Interlibrary loan with systems outside the federation"));
    const body = /<<'XML'\n([\s\S]*?)\nXML\n/.exec(section)?.[1];
    const shown = /gets its confirmation[\s\S]*?```xml\n([\s\S]*?)\n```/.exec(section)?.[1];
    expect(body).toBeDefined();
    expect(shown).toBeDefined();
    const ours = (x: string) =>
      x.replaceAll("north-univ", "north-b").replaceAll("S3CRET", "s3cret").replaceAll("PUL-1001", "README-1");
    const res = await mock.postRaw(ours(body!));
    expect(res.status).toBe(200);
    // The same document but for the gateway's own timestamp.
    const anyTime = (x: string) =>
      x.trim().replace(/<timestamp>[^<]*<\/timestamp>/, "<timestamp>…</timestamp>");
    expect(anyTime(res.text)).toBe(anyTime(ours(shown!)));
    await until("the README's request at north-b", async () =>
      (
        await fed.withClient("north-b", illServicePb.IllStaffService, (c) =>
          c.listRequests({ role: "lender" }),
        )
      ).requests.find((r) => r.requestingAgencyRequestId === "README-1"),
    );
  });

  it("lends an LRS member's item to an outside borrower, from request to LoanCompleted", async () => {
    const conf = await mock.request({
      requestId: "P-1",
      supplier: NORTH_B,
      title: "A title",
      note: "scenario:loaned",
    });
    expect(conf).toMatchObject({ ok: true, errors: [] });
    await until("Loaned at the partner", () => mock.statusesOf("P-1").includes("Loaned") || undefined);
    expect(mock.statusesOf("P-1")).toEqual(["WillSupply", "Loaned"]);
    const loaned = receivedAbout("P-1")[0];
    // What the partner got names the agencies as ISO agency ids and validates for its version.
    expect(loaned?.xml).toContain("<agencyIdValue>US-NjP</agencyIdValue>");
    expect(loaned?.xml).toContain("<agencyIdValue>north-b</agencyIdValue>");
    await receiveAndReturn("P-1", NORTH_B);
    // The national center's trace follows the request through the gateway, both ways.
    const national = fed.node("nat");
    const trace = await fed.cli(national, ["ill", "trace", "P-1", "--config", national.config]);
    expect(trace).toMatch(/princeton \(ISO 18626\)/);
    expect(trace).toMatch(/north-rc/);
  });

  it("lends an LRS member a loan from an outside library, as the rota's last resort, through return", async () => {
    const staff = <T>(fn: (c: Client<typeof illServicePb.IllStaffService>) => Promise<T>) =>
      fed.withClient("north-b", illServicePb.IllStaffService, fn);
    const res = await staff((c) =>
      c.borrow(
        {
          title: "A book no LRS library holds",
          serviceType: illPb.ServiceType.LOAN,
          note: "will supply",
          patronId: "p1",
        },
        { timeoutMs: 30_000 },
      ),
    );
    const r = res.request!;
    expect(r.rota.map((e) => [e.agencyId, e.reason])).toEqual([
      [
        "princeton",
        "external partner (ISIL:US-NjP), last resort after LRS holders; lends loans, charges 12.00 USD",
      ],
    ]);
    const show = () => staff((c) => c.showRequest({ id: r.id })).then((x) => x.request!);
    await until("shipped by the partner", async () =>
      (await show()).status === "shipped" ? true : undefined,
    );
    // The partner got the request as ISO 18626 XML from the member's ISO agency id.
    const req = mock.received.find((m) => m.message.case === "request");
    expect(req?.xml).toContain("<agencyIdValue>north-b</agencyIdValue>");
    await staff((c) => c.act({ id: r.id, action: "receive" }));
    await staff((c) => c.act({ id: r.id, action: "return" }));
    const done = await until("completed", async () => {
      const x = await show();
      return x.status === "completed" || x.status === "loan_completed" ? x : undefined;
    });
    expect(done.partner).toBe("princeton");
    const actions = mock.received
      .filter((m) => m.message.case === "requestingAgencyMessage")
      .map((m) => ill.ISO18626_CODES.action.toXml((m.message.value as illPb.RequestingAgencyMessage).action));
    expect(actions).toEqual(expect.arrayContaining(["Received", "ShippedReturn"]));
  });

  it("fills an LRS member's copy request from an outside lender, delivered by URL", async () => {
    const staff = <T>(fn: (c: Client<typeof illServicePb.IllStaffService>) => Promise<T>) =>
      fed.withClient("north-b", illServicePb.IllStaffService, fn);
    const res = await staff((c) =>
      c.borrow(
        {
          title: "An article no LRS library holds",
          serviceType: illPb.ServiceType.COPY,
          note: "copy",
          patronId: "p2",
        },
        { timeoutMs: 30_000 },
      ),
    );
    const done = await until("copy completed", async () => {
      const x = (await staff((c) => c.showRequest({ id: res.request!.id }))).request!;
      return x.status === "copy_completed" ? x : undefined;
    });
    expect(done.timeline.map((t) => t.note).join(" ")).toMatch(
      /copy at http:\/\/127\.0\.0\.1:\d+\/copies\/.+\.pdf/,
    );
  });

  it("passes an outside borrower's Cancel and Renew to the LRS lender, and its answers back", async () => {
    const lenderRequest = (isoId: string) =>
      until(`the lender's request ${isoId}`, async () =>
        (
          await fed.withClient("north-b", illServicePb.IllStaffService, (c) =>
            c.listRequests({ role: "lender" }),
          )
        ).requests.find((r) => r.requestingAgencyRequestId === isoId),
      );
    const lenderStatus = (id: string, status: string) =>
      until(`the lender's request in ${status}`, async () => {
        const r = (
          await fed.withClient("north-b", illServicePb.IllStaffService, (c) => c.showRequest({ id }))
        ).request!;
        return r.status === status ? r : undefined;
      });
    const answers = (isoId: string) =>
      messagesAbout(isoId).map((v) => {
        return `${ill.ISO18626_CODES.reasonForMessage.toXml(v.messageInfo?.reasonForMessage ?? 0)} ${ill.ISO18626_CODES.status.toXml(v.statusInfo?.status ?? 0)}${v.messageInfo?.answerYesNo ? ` ${ill.ISO18626_CODES.yesNo.toXml(v.messageInfo.answerYesNo)}` : ""}`;
      });

    expect(
      (
        await mock.request({
          requestId: "P-5",
          supplier: NORTH_B,
          title: "Cancel me",
          note: "scenario:no-answer",
        })
      ).ok,
    ).toBe(true);
    const toCancel = await lenderRequest("P-5");
    expect((await mock.action({ requestId: "P-5", supplier: NORTH_B, action: illPb.Action.CANCEL })).ok).toBe(
      true,
    );
    await lenderStatus(toCancel.id, "cancelled");
    await until("CancelResponse at the partner", () =>
      answers("P-5").find((a) => a.startsWith("CancelResponse")),
    );
    expect(answers("P-5")).toContain("CancelResponse Cancelled Y");

    expect(
      (
        await mock.request({
          requestId: "P-6",
          supplier: NORTH_B,
          title: "Renew me",
          note: "scenario:loaned",
        })
      ).ok,
    ).toBe(true);
    await until("Loaned at the partner", () => mock.statusesOf("P-6").includes("Loaned") || undefined);
    const loan = await lenderRequest("P-6");
    expect(
      (await mock.action({ requestId: "P-6", supplier: NORTH_B, action: illPb.Action.RECEIVED })).ok,
    ).toBe(true);
    expect((await mock.action({ requestId: "P-6", supplier: NORTH_B, action: illPb.Action.RENEW })).ok).toBe(
      true,
    );
    await lenderStatus(loan.id, "renew_requested");
    await fed.withClient("north-b", illServicePb.IllStaffService, (c) =>
      c.act({ id: loan.id, action: "approve-renew" }),
    );
    await until("RenewResponse at the partner", () =>
      answers("P-6").find((a) => a.startsWith("RenewResponse")),
    );
    expect(answers("P-6")).toContain("RenewResponse Loaned Y");
  });

  it("tells the partner when the member refuses a message the gateway had confirmed OK", async () => {
    const about = messagesAbout;
    // A request the lender refuses outright: the partner had OK from the gateway, then Unfilled.
    const conf = await mock.request({
      requestId: "P-7",
      supplier: NORTH_B,
      title: "Refused",
      note: "scenario:error",
    });
    expect(conf.ok).toBe(true);
    const unfilled = await until("Unfilled for the refused request", () =>
      about("P-7").find((v) => v.statusInfo?.status === illPb.Status.UNFILLED),
    );
    expect(unfilled.messageInfo?.note).toMatch(/^the request was refused: .*scenario:error/);
    expect(unfilled.header?.supplyingAgencyId?.agencyIdValue).toBe("north-b");
    // A Renew the lender cannot grant (nothing is on loan): RenewResponse "no", with why.
    expect(
      (
        await mock.request({
          requestId: "P-8",
          supplier: NORTH_B,
          title: "Not lent",
          note: "scenario:no-answer",
        })
      ).ok,
    ).toBe(true);
    await until("the request at the lender", async () =>
      (
        await fed.withClient("north-b", illServicePb.IllStaffService, (c) =>
          c.listRequests({ role: "lender" }),
        )
      ).requests.find((r) => r.requestingAgencyRequestId === "P-8"),
    );
    expect((await mock.action({ requestId: "P-8", supplier: NORTH_B, action: illPb.Action.RENEW })).ok).toBe(
      true,
    );
    const no = await until("RenewResponse N at the partner", () =>
      about("P-8").find((v) => v.messageInfo?.reasonForMessage === illPb.ReasonForMessage.RENEW_RESPONSE),
    );
    expect(no.messageInfo?.answerYesNo).toBe(illPb.YesNo.N);
    expect(no.messageInfo?.note).toMatch(/^Renew refused: /);
  });

  it("answers the same message twice with the same confirmation, and applies it once", async () => {
    const conf = await mock.request({
      requestId: "P-2",
      supplier: NORTH_B,
      title: "Twice",
      note: "scenario:no-answer",
    });
    expect(conf.ok).toBe(true);
    const sent = mock.received.length;
    // The exact XML twice.
    const xml = ill.writeIso18626(
      {
        case: "request",
        value: create(illPb.RequestSchema, {
          header: {
            supplyingAgencyId: NORTH_B,
            requestingAgencyId: PARTNER,
            timestamp: { seconds: 1_800_000_000n, nanos: 0 },
            requestingAgencyRequestId: "P-3",
          },
          bibliographicInfo: { title: "Twice" },
          serviceInfo: { serviceType: illPb.ServiceType.LOAN, note: "scenario:no-answer" },
        }),
      },
      { version: "2021-2", authentication: { accountId: "princeton", securityCode: "s3cret" } },
    ).xml;
    const last = await mock.postRaw(xml);
    const again = await mock.postRaw(xml);
    expect(again.status).toBe(200);
    // The stored confirmation, byte for byte (its own timestamp included).
    expect(again.text).toBe(last.text);
    expect(mock.received.length).toBe(sent);
    const lenderRequests = () =>
      fed.withClient("north-b", illServicePb.IllStaffService, (c) => c.listRequests({ role: "lender" }));
    await until(
      "the request at the lender",
      async () =>
        (await lenderRequests()).requests.some((r) => r.requestingAgencyRequestId === "P-3") || undefined,
    );
    // A third copy, once the first has arrived: still one request at the lender.
    expect((await mock.postRaw(xml)).text).toBe(last.text);
    await new Promise((r) => setTimeout(r, 1000));
    expect(
      (await lenderRequests()).requests.filter((r) => r.requestingAgencyRequestId === "P-3"),
    ).toHaveLength(1);
  });

  it("keeps a partner's messages while it is down and delivers them when it is back", async () => {
    mock.down = true;
    const conf = await mock.request({
      requestId: "P-4",
      supplier: NORTH_B,
      title: "Down",
      note: "scenario:loaned",
    });
    expect(conf.ok).toBe(true);
    await new Promise((r) => setTimeout(r, 3000));
    expect(mock.statusesOf("P-4")).toEqual([]);
    mock.down = false;
    await until(
      "Loaned after the partner came back",
      () => mock.statusesOf("P-4").includes("Loaned") || undefined,
      60_000,
    );
  });

  it("refuses a partner that does not authenticate, and an unknown agency, with an ISO error", async () => {
    const stranger = new MockPartner({
      agency: { agencyIdType: "ISIL", agencyIdValue: "XX-Nobody" },
      gatewayUrl: fed.node("nat").iso18626!,
      caPem: pem(fed.node("nat").caCert),
    });
    const unknown = await stranger.request({ requestId: "S-1", supplier: NORTH_B, title: "x", note: "" });
    expect(unknown.ok).toBe(false);
    expect(unknown.errors[0]).toMatch(
      /^UnrecognisedDataValue: request\/header\/requestingAgencyId: ISIL:XX-Nobody is not a partner/,
    );
    const impostor = new MockPartner({
      agency: PARTNER,
      gatewayUrl: fed.node("nat").iso18626!,
      caPem: pem(fed.node("nat").caCert),
      authentication: { accountId: "princeton", securityCode: "guess" },
    });
    const refused = await impostor.request({ requestId: "S-2", supplier: NORTH_B, title: "x", note: "" });
    expect(refused.errors[0]).toMatch(/requestingAgencyAuthentication: not accepted for ISIL:US-NjP/);
    const lender = await fed.withClient("north-b", illServicePb.IllStaffService, (c) =>
      c.listRequests({ role: "lender" }),
    );
    expect(lender.requests.some((r) => r.requestingAgencyRequestId.startsWith("S-"))).toBe(false);
  });

  it("answers bad XML of each kind with its ISO error type, never a 5xx", async () => {
    const header = `<header><supplyingAgencyId><agencyIdType>LRS</agencyIdType><agencyIdValue>north-b</agencyIdValue></supplyingAgencyId><requestingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>US-NjP</agencyIdValue></requestingAgencyId><timestamp>2026-12-05T10:00:00+0000</timestamp><requestingAgencyRequestId>P-1</requestingAgencyRequestId><requestingAgencyAuthentication><accountId>princeton</accountId><securityCode>s3cret</securityCode></requestingAgencyAuthentication></header>`;
    const cases: Array<[string, string]> = [
      ["not xml at all", "BadlyFormedMessage"],
      [
        `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><request>&e;</request>`,
        "BadlyFormedMessage",
      ],
      [
        `<requestingAgencyMessage>${header}<action>Received</action><colour/></requestingAgencyMessage>`,
        "UnrecognisedDataElement",
      ],
      [
        `<request>${header}<bibliographicInfo/><serviceInfo><serviceType>Borrow</serviceType></serviceInfo></request>`,
        "UnrecognisedDataValue",
      ],
      [
        `<requestingAgencyMessage>${header}<action>Steal</action></requestingAgencyMessage>`,
        "UnsupportedActionType",
      ],
      [
        `<supplyingAgencyMessage>${header.replace("<requestingAgencyAuthentication><accountId>princeton</accountId><securityCode>s3cret</securityCode></requestingAgencyAuthentication>", "")}<messageInfo><reasonForMessage>Gossip</reasonForMessage></messageInfo><statusInfo><status>Loaned</status></statusInfo></supplyingAgencyMessage>`,
        "UnsupportedReasonForMessageType",
      ],
      [`<request>${"<a>".repeat(30)}${"</a>".repeat(30)}</request>`, "BadlyFormedMessage"],
    ];
    for (const [body, type] of cases) {
      const res = await mock.postRaw(body);
      expect(res.status, body).toBe(200);
      const read = ill.readIso18626(res.text);
      const v = read.message.value as {
        confirmationHeader?: { messageStatus: number };
        errorData: Array<{ errorType: number; errorValue: string }>;
      };
      expect(v.confirmationHeader?.messageStatus, body).toBe(illPb.MessageStatus.ERROR);
      expect(ill.ISO18626_CODES.errorType.toXml(v.errorData[0]?.errorType ?? 0), body).toBe(type);
    }
    const big = await mock.postRaw(`<request>${" ".repeat(1_100_000)}</request>`);
    expect(big.status).toBe(200);
    expect(big.text).toMatch(/over the limit of 1000000/);
  });

  it("counts the gateway's traffic by partner in the national traffic figures", async () => {
    const national = fed.node("nat");
    type Row = {
      partner: string;
      received: number;
      refused: number;
      sent: number;
      byKind: Record<string, number>;
    };
    const rows = await until("gateway traffic in the figures", async () => {
      const t = JSON.parse(
        await fed.cli(national, ["traffic", "--config", national.config, "--since", "1h", "--json"]),
      ) as { gateway: Row[] };
      const p = t.gateway.find((r) => r.partner === "princeton");
      return p && p.sent > 0 && p.refused > 0 ? t.gateway : undefined;
    });
    const princeton = rows.find((r) => r.partner === "princeton")!;
    // Requests, actions and bad XML it sent; the answers and requests LRS sent it.
    expect(princeton.byKind.request).toBeGreaterThanOrEqual(6);
    expect(princeton.byKind.requestingAgencyMessage).toBeGreaterThanOrEqual(6);
    expect(princeton.byKind.supplyingAgencyMessage).toBeGreaterThanOrEqual(10);
    expect(princeton.received).toBeGreaterThan(princeton.refused);
    // The stranger that is not a partner is counted apart, under its own heading.
    expect(rows.some((r) => r.partner === "unknown partner")).toBe(true);
    const text = await fed.cli(national, ["traffic", "--config", national.config, "--since", "1h"]);
    expect(text).toMatch(/outside partners, through the ISO 18626 gateway/);
    expect(text).toMatch(/\bprinceton\b/);
  });
});
