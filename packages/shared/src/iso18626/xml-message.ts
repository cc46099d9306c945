// What the XML reader and writer exchange with the rest of LRS: one ISO 18626 message as the
// Protobuf message of ill.proto, tagged like the envelope's oneof, with what XML carries and
// LRS keeps beside it (the requester's account and security code).
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import type { IllEnvelope } from "../gen/lrs/v1/ill_service_pb.js";
import { fieldOfXmlElement, ISO18626_2017_NAMES } from "./iso18626-xml.js";

/**
 * One ISO 18626 message (any of the six), as the envelope carries it. The envelope also carries
 * LRS's own visit notices (reciprocal borrowing), which are not ISO 18626 and never leave the
 * federation.
 */
export type Iso18626Message = Exclude<IllEnvelope["message"], { case: undefined } | { case: "visitNotice" }>;
export type Iso18626MessageKind = Iso18626Message["case"];

/** The XML element of each message kind: the same word, as in ISO18626Message's choice. */
export const ISO18626_MESSAGE_KINDS: readonly Iso18626MessageKind[] = [
  "request",
  "requestConfirmation",
  "supplyingAgencyMessage",
  "supplyingAgencyMessageConfirmation",
  "requestingAgencyMessage",
  "requestingAgencyMessageConfirmation",
];

export function isMessageKind(name: string): name is Iso18626MessageKind {
  return (ISO18626_MESSAGE_KINDS as readonly string[]).includes(name);
}

/** The confirmation that answers a message kind (a confirmation answers nothing). */
export function confirmationKindOf(
  kind: Iso18626MessageKind,
):
  | "requestConfirmation"
  | "supplyingAgencyMessageConfirmation"
  | "requestingAgencyMessageConfirmation"
  | undefined {
  switch (kind) {
    case "request":
      return "requestConfirmation";
    case "supplyingAgencyMessage":
      return "supplyingAgencyMessageConfirmation";
    case "requestingAgencyMessage":
      return "requestingAgencyMessageConfirmation";
    default:
      return undefined;
  }
}

/** header/requestingAgencyAuthentication: how a requester proves who it is (2021 schema). */
export interface RequestingAgencyAuthentication {
  readonly accountId: string;
  readonly securityCode: string;
}

const NAMES_2017 = new Map(
  Object.entries(ISO18626_2017_NAMES).map(([path, xml]) => {
    const [message = "", field = ""] = path.split(".");
    return [`${message}.${xml}`, field] as const;
  }),
);

/** The field of `desc` an element stands for, by its 2021 or its 2017 name. */
export function fieldForElement(desc: DescMessage, element: string): DescField | undefined {
  const name = fieldOfXmlElement(desc.name, element) ?? NAMES_2017.get(`${desc.name}.${element}`);
  return name === undefined ? undefined : desc.fields.find((f) => f.name === name);
}

/** The set values of a field of a generated message, as a list (empty when unset or default). */
export function fieldValues(message: object, field: DescField): unknown[] {
  const record = message as Record<string, unknown>;
  if (field.oneof) {
    const o = record[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
    return o?.case === field.localName ? [o.value] : [];
  }
  const v = record[field.localName];
  if (field.fieldKind === "list") return (v as unknown[]) ?? [];
  if (v === undefined || v === null || v === "" || v === 0 || v === false || v === 0n) return [];
  return [v];
}
