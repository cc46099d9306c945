/**
 * An OAI-PMH 2.0 request, checked: the verb, its arguments (required, optional, exclusive, none
 * repeated, none unknown) and the dates. What is wrong becomes the protocol's error code with a
 * message naming the argument, as the specification (section 3.6) lists them.
 */

export type OaiErrorCode =
  | "badArgument"
  | "badResumptionToken"
  | "badVerb"
  | "cannotDisseminateFormat"
  | "idDoesNotExist"
  | "noRecordsMatch"
  | "noMetadataFormats"
  | "noSetHierarchy";

export class OaiError extends Error {
  override readonly name = "OaiError";
  constructor(
    readonly code: OaiErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const VERBS = [
  "Identify",
  "ListMetadataFormats",
  "ListSets",
  "ListIdentifiers",
  "ListRecords",
  "GetRecord",
] as const;
export type OaiVerb = (typeof VERBS)[number];

/** A time range, both ends as ISO 8601 instants in UTC; `untilExclusive` is the first instant after `until`. */
export interface OaiDateRange {
  from?: string;
  untilExclusive?: string;
}

export type OaiRequest =
  | { verb: "Identify" }
  | { verb: "ListMetadataFormats"; identifier?: string }
  | { verb: "ListSets"; resumptionToken?: string }
  | {
      verb: "ListIdentifiers" | "ListRecords";
      resumptionToken?: string;
      metadataPrefix?: string;
      set?: string;
      range: OaiDateRange;
    }
  | { verb: "GetRecord"; identifier: string; metadataPrefix: string };

const ARGUMENTS: Record<OaiVerb, { required: string[]; optional: string[]; exclusive?: string }> = {
  Identify: { required: [], optional: [] },
  ListMetadataFormats: { required: [], optional: ["identifier"] },
  ListSets: { required: [], optional: [], exclusive: "resumptionToken" },
  ListIdentifiers: {
    required: ["metadataPrefix"],
    optional: ["from", "until", "set"],
    exclusive: "resumptionToken",
  },
  ListRecords: {
    required: ["metadataPrefix"],
    optional: ["from", "until", "set"],
    exclusive: "resumptionToken",
  },
  GetRecord: { required: ["identifier", "metadataPrefix"], optional: [] },
};

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const SECOND = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/** Parses an OAI-PMH date (day or second granularity) to its instant; undefined when it is not one. */
export function parseOaiDate(s: string): { at: Date; granularity: "day" | "second" } | undefined {
  const m = SECOND.exec(s) ?? DAY.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h = "0", mi = "0", se = "0"] = m.slice(1);
  const at = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se)));
  // Reject 2024-02-30 and 25:00:00, which Date.UTC would roll over.
  const back = at.toISOString().slice(0, s.length === 10 ? 10 : 19);
  if (back !== s.slice(0, s.length === 10 ? 10 : 19)) return undefined;
  return { at, granularity: s.length === 10 ? "day" : "second" };
}

/** An instant as an OAI-PMH datestamp, to the second. */
export function oaiDatestamp(d: Date | string): string {
  return `${(typeof d === "string" ? d : d.toISOString()).slice(0, 19)}Z`;
}

/**
 * Checks the arguments of a request (`args`: each name with every value given, from the query
 * string or the form body).
 *
 * @throws OaiError badVerb or badArgument
 */
export function parseOaiRequest(args: ReadonlyMap<string, readonly string[]>): OaiRequest {
  const verbs = args.get("verb");
  if (!verbs || verbs.length === 0) throw new OaiError("badVerb", "the verb argument is missing");
  if (verbs.length > 1) throw new OaiError("badVerb", "the verb argument is repeated");
  const verb = verbs[0]!;
  if (!(VERBS as readonly string[]).includes(verb)) {
    throw new OaiError("badVerb", `${JSON.stringify(verb)} is not an OAI-PMH verb (${VERBS.join(", ")})`);
  }
  const spec = ARGUMENTS[verb as OaiVerb];
  const one = new Map<string, string>();
  for (const [name, values] of args) {
    if (name === "verb") continue;
    if (![...spec.required, ...spec.optional, spec.exclusive].includes(name)) {
      throw new OaiError("badArgument", `${verb} takes no argument ${JSON.stringify(name)}`);
    }
    if (values.length > 1) throw new OaiError("badArgument", `the argument ${name} is repeated`);
    one.set(name, values[0]!);
  }
  if (spec.exclusive && one.has(spec.exclusive)) {
    if (one.size > 1) {
      throw new OaiError(
        "badArgument",
        `${spec.exclusive} is an exclusive argument: nothing else may go with it`,
      );
    }
  } else {
    for (const name of spec.required) {
      if (!one.get(name)) throw new OaiError("badArgument", `${verb} needs the argument ${name}`);
    }
  }
  const get = (name: string) => one.get(name);
  switch (verb as OaiVerb) {
    case "Identify":
      return { verb: "Identify" };
    case "ListMetadataFormats": {
      const identifier = get("identifier");
      return { verb: "ListMetadataFormats", ...(identifier !== undefined ? { identifier } : {}) };
    }
    case "ListSets": {
      const token = get("resumptionToken");
      return { verb: "ListSets", ...(token !== undefined ? { resumptionToken: token } : {}) };
    }
    case "ListIdentifiers":
    case "ListRecords": {
      const token = get("resumptionToken");
      if (token !== undefined) return { verb: verb as "ListRecords", resumptionToken: token, range: {} };
      const set = get("set");
      return {
        verb: verb as "ListRecords",
        metadataPrefix: get("metadataPrefix")!,
        ...(set !== undefined ? { set } : {}),
        range: parseRange(get("from"), get("until")),
      };
    }
    case "GetRecord":
      return { verb: "GetRecord", identifier: get("identifier")!, metadataPrefix: get("metadataPrefix")! };
    default: {
      const _never: never = verb as never;
      throw new OaiError("badVerb", String(_never));
    }
  }
}

function parseRange(fromText: string | undefined, untilText: string | undefined): OaiDateRange {
  const from = fromText === undefined ? undefined : parseOaiDate(fromText);
  const until = untilText === undefined ? undefined : parseOaiDate(untilText);
  if (fromText !== undefined && !from) {
    throw new OaiError(
      "badArgument",
      `from ${JSON.stringify(fromText)} is not YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ`,
    );
  }
  if (untilText !== undefined && !until) {
    throw new OaiError(
      "badArgument",
      `until ${JSON.stringify(untilText)} is not YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ`,
    );
  }
  if (from && until && from.granularity !== until.granularity) {
    throw new OaiError("badArgument", "from and until must have the same granularity");
  }
  if (from && until && from.at > until.at) throw new OaiError("badArgument", "from is later than until");
  const range: OaiDateRange = {};
  if (from) range.from = from.at.toISOString();
  if (until) {
    // until is inclusive: the whole day, or the whole second.
    const step = until.granularity === "day" ? 86_400_000 : 1000;
    range.untilExclusive = new Date(until.at.getTime() + step).toISOString();
  }
  return range;
}
