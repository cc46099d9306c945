/**
 * The explain record: a ZeeRex 2.0 description (http://explain.z3950.org/dtd/2.0/) of the server,
 * its database, the CQL it answers (from the search profile, so the two cannot drift apart), the
 * record schemas and the limits.
 */
import { type CqlProfile, LRS_CQL_PROFILE } from "../../cql/validate.js";
import { RECORD_SCHEMAS, type SruVersion } from "./request.js";
import { ZEEREX_SCHEMA } from "./response.js";
import { escapeXml, textElement } from "./xml.js";

export interface ExplainInfo {
  /** The host and port clients reach the server by. */
  host: string;
  port: number;
  /** The database: the base URL's path without the leading slash. */
  database: string;
  title: string;
  description: string;
  /** The node serving the catalog. */
  nodeId: string;
  version: SruVersion;
  limits: { maxRecords: number; defaultRecords: number; maxRequestBytes: number };
  profile?: CqlProfile;
}

const INDEX_TITLES: Readonly<Record<string, string>> = {
  "dc.title": "Title",
  "dc.creator": "Author, creator",
  "dc.subject": "Subject",
  "dc.publisher": "Publisher",
  "dc.date": "Date of publication",
  "bath.isbn": "ISBN",
  "bath.issn": "ISSN",
  "rec.identifier": "Record identifier (union catalog cluster)",
  "cql.anywhere": "Any field",
};

/** How a query is read, for a person reading the explain record (and the README says the same). */
export const QUERY_HELP =
  "CQL 1.2. Words typed without quotes or operators (history music) must all occur, in any field, " +
  'and hits are ranked by relevance; a term in double quotes ("history of music") is a phrase. ' +
  "Indexes: dc.title, dc.creator, dc.subject, dc.publisher, dc.date, bath.isbn, bath.issn, rec.identifier, " +
  "cql.anywhere; relations =, ==, all, any, adj and, for dc.date, <, <=, >, >=, within; * truncates a word " +
  "on the right (the first word of a term keeps at least 3 characters before it). Proximity, stemming and left truncation are not supported, and the answer says so.";

function attr(name: string, value: string): string {
  return ` ${name}="${escapeXml(value)}"`;
}

function indexXml(name: string, profile: CqlProfile): string {
  const dot = name.indexOf(".");
  const set = name.slice(0, dot);
  const local = name.slice(dot + 1);
  const spec = profile.indexes[name];
  const names = [`<map primary="true"><name${attr("set", set)}>${escapeXml(local)}</name></map>`];
  // Other qualified names that reach the same index (cql.serverChoice → cql.anywhere).
  for (const [alias, target] of Object.entries(profile.indexAliases)) {
    if (target !== name || !alias.includes(".")) continue;
    const d = alias.indexOf(".");
    names.push(`<map><name${attr("set", alias.slice(0, d))}>${escapeXml(alias.slice(d + 1))}</name></map>`);
  }
  const relations = (spec?.relations ?? []).map((r) => typed("supports", "relation", r));
  return (
    `<index${attr("search", "true")}${attr("scan", "false")}${attr("sort", String(profile.sortKeys.includes(name)))}${attr("id", name)}>` +
    `<title lang="en">${escapeXml(INDEX_TITLES[name] ?? name)}</title>` +
    names.join("") +
    (relations.length > 0 ? `<configInfo>${relations.join("")}</configInfo>` : "") +
    "</index>"
  );
}

function typed(element: "default" | "setting" | "supports", type: string, value?: string | number): string {
  return `<${element}${attr("type", type)}>${value === undefined ? "" : escapeXml(String(value))}</${element}>`;
}

/** The ZeeRex record explain answers with. */
export function zeerexRecord(info: ExplainInfo): string {
  const profile = info.profile ?? LRS_CQL_PROFILE;
  const sets = Object.entries(profile.contextSets)
    .filter(([name]) => name !== "sort")
    .map(([name, uris]) => `<set${attr("name", name)}${attr("identifier", uris[0] ?? "")}/>`);
  const indexes = Object.keys(profile.indexes).map((name) => indexXml(name, profile));
  const schemas = RECORD_SCHEMAS.map(
    (s) =>
      `<schema${attr("identifier", s.uri)}${attr("location", s.location)}${attr("sort", "false")}${attr("retrieve", "true")}${attr("name", s.name)}>` +
      `<title lang="en">${escapeXml(s.title)}</title></schema>`,
  );
  const masking = profile.masking.rightTruncation ? [typed("supports", "maskingCharacter", "*")] : [];
  const config = [
    typed("default", "index", "cql.anywhere"),
    typed("default", "relation", "="),
    typed("default", "retrieveSchema", RECORD_SCHEMAS[0]!.name),
    typed("default", "numberOfRecords", info.limits.defaultRecords),
    typed("setting", "maximumRecords", info.limits.maxRecords),
    // Not a ZeeRex type of its own: requests larger than this are refused with HTTP 413.
    typed("setting", "maximumRequestBytes", info.limits.maxRequestBytes),
    ...profile.booleans.map((b) => typed("supports", "booleanOperator", b)),
    ...profile.relationModifiers.map((m) => typed("supports", "relationModifier", m)),
    ...masking,
    ...(profile.sortKeys.length > 0 ? [typed("supports", "sort")] : []),
    typed("supports", "emptyTerm", String(profile.allowEmptyTerm)),
  ];
  return (
    `<explain xmlns="${ZEEREX_SCHEMA}">` +
    `<serverInfo${attr("protocol", "SRU")}${attr("version", info.version)}${attr("transport", "http")}>` +
    textElement("host", info.host) +
    textElement("port", info.port) +
    textElement("database", info.database) +
    "</serverInfo>" +
    "<databaseInfo>" +
    `<title lang="en" primary="true">${escapeXml(info.title)}</title>` +
    `<description lang="en" primary="true">${escapeXml(info.description)}</description>` +
    `<description lang="en">${escapeXml(QUERY_HELP)}</description>` +
    `<implementation${attr("identifier", info.nodeId)}><title lang="en">LRS node ${escapeXml(info.nodeId)}</title></implementation>` +
    "</databaseInfo>" +
    `<indexInfo>${sets.join("")}${indexes.join("")}</indexInfo>` +
    `<schemaInfo>${schemas.join("")}</schemaInfo>` +
    `<configInfo>${config.join("")}</configInfo>` +
    "</explain>"
  );
}
