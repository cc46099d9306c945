export { DELIVER_BATCH_MAX, deliverInOrder, illBatchSender } from "./deliver-batch.js";
export {
  checkEnvelope,
  confirmationOf,
  confirmationText,
  confirmedMessageId,
  describeEnvelope,
  EnvelopeError,
  envelopeBytes,
  envelopeFromOutbox,
  envelopeOf,
  ILL_KINDS,
  ILL_OUTBOX_KINDS,
} from "./envelope.js";
export {
  codeListOf,
  fieldOfXmlElement,
  ISO18626_2017_NAMES,
  ISO18626_CODES,
  ISO18626_ELEMENTS,
  ISO18626_MESSAGE_ELEMENTS,
  ISO18626_NAMESPACE,
  ISO18626_SCHEMA,
  type XmlCodeList,
  type XmlElementMap,
  xmlElementOf,
} from "./iso18626-xml.js";
export {
  defineMachine,
  type EventInfo,
  type Guard,
  isRefused,
  type Machine,
  type MachineContext,
  MachineDefinitionError,
  type MachineSpec,
  type StateInfo,
  type TransitionRecord,
  type TransitionResult,
  type TransitionRow,
  transition,
} from "./machine.js";
export {
  REQUESTER_MESSAGES,
  type RequesterMessageSpec,
  repeatsRequesterStatus,
  requesterEventOf,
  SUPPLIER_MESSAGES,
  type SupplierMessageSpec,
  supplierEventOf,
  supplierEventOfRequest,
} from "./messages.js";
export { DELIVER_TIMEOUT_MS, illParentBatch, illParentSenders } from "./parent-senders.js";
export {
  REQUESTER_EVENTS,
  REQUESTER_STATES,
  type RequesterContext,
  type RequesterEffect,
  type RequesterEvent,
  type RequesterGuard,
  type RequesterState,
  requesterMachine,
} from "./requester-machine.js";
export {
  SUPPLIER_EVENTS,
  SUPPLIER_STATES,
  type SupplierContext,
  type SupplierEffect,
  type SupplierEvent,
  type SupplierGuard,
  type SupplierState,
  supplierMachine,
} from "./supplier-machine.js";
export {
  confirmationKindOf,
  fieldForElement,
  ISO18626_MESSAGE_KINDS,
  type Iso18626Message,
  type Iso18626MessageKind,
  isMessageKind,
  type RequestingAgencyAuthentication,
} from "./xml-message.js";
export {
  type Iso18626Read,
  Iso18626ReadError,
  parseIsoDateTime,
  readIso18626,
} from "./xml-read.js";
export {
  decodeXmlBytes,
  escapeXml,
  ISO18626_XML_LIMITS,
  readXmlTree,
  type XmlLimits,
  type XmlNode,
  XmlReadError,
} from "./xml-tree.js";
export {
  Iso18626WriteError,
  type Iso18626WriteOptions,
  type Iso18626Written,
  writeIso18626,
} from "./xml-write.js";
export {
  ISO18626_VERSIONS,
  type Iso18626Schema,
  type Iso18626Version,
  iso18626Schema,
  iso18626SchemaPath,
  versionOf,
} from "./xsd.js";
