// The ISO 18626 XML names of everything in proto/lrs/v1/ill.proto, so that an XML
// gateway to other ILL systems is a translation table walk, not a redesign.
// Element and code names follow the 2021 schema (ISO-18626-2021-2.xsd) and the
// maintenance agency's open code lists; iso18626-xml.test.ts proves that every
// field and every enum value has exactly one XML name and that the mapping
// round-trips.
import type { DescEnum, DescMessage } from "@bufbuild/protobuf";
import type { GenEnum } from "@bufbuild/protobuf/codegenv2";
import {
  Action,
  ActionSchema,
  AddressSchema,
  AgencyIdSchema,
  BibliographicInfoSchema,
  BibliographicItemIdSchema,
  BibliographicRecordIdSchema,
  BillingInfoSchema,
  ConfirmationHeaderSchema,
  CostsSchema,
  DeliveryInfoSchema,
  ElectronicAddressSchema,
  ErrorDataSchema,
  ErrorType,
  ErrorTypeSchema,
  HeaderSchema,
  LoanCondition,
  LoanConditionSchema,
  MessageInfoSchema,
  MessageStatus,
  MessageStatusSchema,
  PatronInfoSchema,
  PhysicalAddressSchema,
  PreferredEdition,
  PreferredEditionSchema,
  PublicationInfoSchema,
  ReasonForMessage,
  ReasonForMessageSchema,
  ReasonRetry,
  ReasonRetrySchema,
  ReasonUnfilled,
  ReasonUnfilledSchema,
  RequestConfirmationSchema,
  RequestedDeliveryInfoSchema,
  RequestingAgencyInfoSchema,
  RequestingAgencyMessageConfirmationSchema,
  RequestingAgencyMessageSchema,
  RequestSchema,
  RequestSubType,
  RequestSubTypeSchema,
  RequestType,
  RequestTypeSchema,
  RetryInfoSchema,
  ReturnInfoSchema,
  ServiceInfoSchema,
  ServiceType,
  ServiceTypeSchema,
  ShippingInfoSchema,
  Status,
  StatusInfoSchema,
  StatusSchema,
  SupplierInfoSchema,
  SupplyingAgencyMessageConfirmationSchema,
  SupplyingAgencyMessageSchema,
  YesNo,
  YesNoSchema,
} from "../gen/lrs/v1/ill_pb.js";

/** XML namespace of ISO 18626 messages (kept by the 2021 revision). */
export const ISO18626_NAMESPACE = "http://illtransactions.org/2013/iso18626";

/** The schema the names below are taken from. */
export const ISO18626_SCHEMA = "ISO-18626-2021-2.xsd";

/** The values of one Protobuf enum and the codes of the ISO 18626 code list it stands for. */
export interface XmlCodeList<E extends number> {
  /** The XSD type ("type_status") or, for an open list, the element it is used in ("reasonUnfilled"). */
  readonly isoName: string;
  /**
   * A closed list is an enumeration in the XSD. An open list is published by the maintenance
   * agency and a partner may send codes outside it: `fromXml` then answers undefined and a
   * gateway keeps the code in a note.
   */
  readonly closed: boolean;
  readonly schema: GenEnum<E>;
  /** Every enum value but the zero value, with its XML code. */
  readonly codes: ReadonlyMap<E, string>;
  toXml(value: E): string | undefined;
  fromXml(code: string): E | undefined;
}

// Zero values (`*_UNSPECIFIED`) have no XML code: they mean "element absent".
type Coded<E extends number> = Readonly<Record<Exclude<E, 0>, string>>;

function codeList<E extends number>(
  isoName: string,
  closed: boolean,
  schema: GenEnum<E>,
  table: Coded<E>,
): XmlCodeList<E> {
  const codes = new Map<E, string>(
    Object.entries<string>(table).map(([value, code]) => [Number(value) as E, code]),
  );
  const values = new Map<string, E>([...codes].map(([value, code]) => [code, value]));
  return {
    isoName,
    closed,
    schema,
    codes,
    toXml: (value) => codes.get(value),
    fromXml: (code) => values.get(code),
  };
}

/** Every enum of ill.proto with its ISO 18626 code list. */
export const ISO18626_CODES = {
  status: codeList<Status>("type_status", true, StatusSchema, {
    [Status.REQUEST_RECEIVED]: "RequestReceived",
    [Status.EXPECT_TO_SUPPLY]: "ExpectToSupply",
    [Status.WILL_SUPPLY]: "WillSupply",
    [Status.LOANED]: "Loaned",
    [Status.OVERDUE]: "Overdue",
    [Status.RECALLED]: "Recalled",
    [Status.RETRY_POSSIBLE]: "RetryPossible",
    [Status.UNFILLED]: "Unfilled",
    [Status.COPY_COMPLETED]: "CopyCompleted",
    [Status.LOAN_COMPLETED]: "LoanCompleted",
    [Status.COMPLETED_WITHOUT_RETURN]: "CompletedWithoutReturn",
    [Status.CANCELLED]: "Cancelled",
    [Status.HOLD_RETURN]: "HoldReturn",
    [Status.RELEASE_HOLD_RETURN]: "ReleaseHoldReturn",
  }),
  action: codeList<Action>("type_action", true, ActionSchema, {
    [Action.STATUS_REQUEST]: "StatusRequest",
    [Action.RECEIVED]: "Received",
    [Action.CANCEL]: "Cancel",
    [Action.RENEW]: "Renew",
    [Action.SHIPPED_RETURN]: "ShippedReturn",
    [Action.SHIPPED_FORWARD]: "ShippedForward",
    [Action.NOTIFICATION]: "Notification",
    [Action.HOLD_RETURN]: "HoldReturn",
    [Action.LOST]: "Lost",
  }),
  reasonForMessage: codeList<ReasonForMessage>("type_reasonForMessage", true, ReasonForMessageSchema, {
    [ReasonForMessage.REQUEST_RESPONSE]: "RequestResponse",
    [ReasonForMessage.STATUS_REQUEST_RESPONSE]: "StatusRequestResponse",
    [ReasonForMessage.RENEW_RESPONSE]: "RenewResponse",
    [ReasonForMessage.CANCEL_RESPONSE]: "CancelResponse",
    [ReasonForMessage.STATUS_CHANGE]: "StatusChange",
    [ReasonForMessage.NOTIFICATION]: "Notification",
  }),
  serviceType: codeList<ServiceType>("type_serviceType", true, ServiceTypeSchema, {
    [ServiceType.COPY]: "Copy",
    [ServiceType.LOAN]: "Loan",
    [ServiceType.COPY_OR_LOAN]: "CopyOrLoan",
  }),
  requestType: codeList<RequestType>("type_requestType", true, RequestTypeSchema, {
    [RequestType.NEW]: "New",
    [RequestType.RETRY]: "Retry",
    [RequestType.REMINDER]: "Reminder",
  }),
  requestSubType: codeList<RequestSubType>("type_requestSubType", true, RequestSubTypeSchema, {
    [RequestSubType.BOOKING_REQUEST]: "BookingRequest",
    [RequestSubType.MULTIPLE_ITEM_REQUEST]: "MultipleItemRequest",
    [RequestSubType.PATRON_REQUEST]: "PatronRequest",
    [RequestSubType.TRANSFER_REQUEST]: "TransferRequest",
    [RequestSubType.SUPPLYING_LIBRARYS_CHOICE]: "SupplyingLibrarysChoice",
  }),
  preferredEdition: codeList<PreferredEdition>("type_preferredEdition", true, PreferredEditionSchema, {
    [PreferredEdition.MOST_RECENT_EDITION]: "MostRecentEdition",
    [PreferredEdition.THIS_EDITION]: "ThisEdition",
    [PreferredEdition.ANY_EDITION]: "AnyEdition",
  }),
  yesNo: codeList<YesNo>("type_yesNo", true, YesNoSchema, {
    [YesNo.Y]: "Y",
    [YesNo.N]: "N",
  }),
  messageStatus: codeList<MessageStatus>("type_messageStatus", true, MessageStatusSchema, {
    [MessageStatus.OK]: "OK",
    [MessageStatus.ERROR]: "ERROR",
  }),
  errorType: codeList<ErrorType>("type_errorType", true, ErrorTypeSchema, {
    [ErrorType.UNSUPPORTED_ACTION_TYPE]: "UnsupportedActionType",
    [ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE]: "UnsupportedReasonForMessageType",
    [ErrorType.UNRECOGNISED_DATA_ELEMENT]: "UnrecognisedDataElement",
    [ErrorType.UNRECOGNISED_DATA_VALUE]: "UnrecognisedDataValue",
    [ErrorType.BADLY_FORMED_MESSAGE]: "BadlyFormedMessage",
  }),
  reasonUnfilled: codeList<ReasonUnfilled>("reasonUnfilled", false, ReasonUnfilledSchema, {
    [ReasonUnfilled.NON_CIRCULATING]: "NonCirculating",
    [ReasonUnfilled.NOT_AVAILABLE_FOR_ILL]: "NotAvailableForILL",
    [ReasonUnfilled.NOT_HELD]: "NotHeld",
    [ReasonUnfilled.NOT_ON_SHELF]: "NotOnShelf",
    [ReasonUnfilled.POLICY_PROBLEM]: "PolicyProblem",
    [ReasonUnfilled.POOR_CONDITION]: "PoorCondition",
  }),
  reasonRetry: codeList<ReasonRetry>("reasonRetry", false, ReasonRetrySchema, {
    [ReasonRetry.AT_BINDERY]: "AtBindery",
    [ReasonRetry.COST_EXCEEDS_MAX_COST]: "CostExceedsMaxCost",
    [ReasonRetry.COURIER_NOT_SUPP]: "CourierNotSupp",
    [ReasonRetry.MULTI_VOL_AVAIL]: "MultiVolAvail",
    [ReasonRetry.MUST_MEET_LOAN_CONDITION]: "MustMeetLoanCondition",
    [ReasonRetry.NOT_CURRENT_AVAILABLE_FOR_ILL]: "NotCurrentAvailableForILL",
    [ReasonRetry.NOT_FOUND_AS_CITED]: "NotFoundAsCited",
    [ReasonRetry.ON_LOAN]: "OnLoan",
    [ReasonRetry.ON_ORDER]: "OnOrder",
    [ReasonRetry.REQ_DEL_DATE_NOT_POSSIBLE]: "ReqDelDateNotPossible",
    [ReasonRetry.REQ_DEL_METHOD_NOT_SUPP]: "ReqDelMethodNotSupp",
    [ReasonRetry.REQ_EDITION_NOT_POSSIBLE]: "ReqEditionNotPossible",
    [ReasonRetry.REQ_FORMAT_NOT_POSSIBLE]: "ReqFormatNotPossible",
    [ReasonRetry.REQ_PAY_METHOD_NOT_SUPPORTED]: "ReqPayMethodNotSupported",
    [ReasonRetry.REQ_SERV_LEVEL_NOT_SUPP]: "ReqServLevelNotSupp",
    [ReasonRetry.REQ_SERV_TYPE_NOT_POSSIBLE]: "ReqServTypeNotPossible",
  }),
  loanCondition: codeList<LoanCondition>("loanCondition", false, LoanConditionSchema, {
    [LoanCondition.LIBRARY_USE_ONLY]: "LibraryUseOnly",
    [LoanCondition.NO_REPRODUCTION]: "NoReproduction",
    [LoanCondition.SIGNATURE_REQUIRED]: "SignatureRequired",
    [LoanCondition.SPEC_COLL_SUPERV_REQ]: "SpecCollSupervReq",
    [LoanCondition.WATCH_LIBRARY_USE_ONLY]: "WatchLibraryUseOnly",
  }),
} as const;

/** The XML elements of one message's fields. */
export interface XmlElementMap {
  readonly schema: DescMessage;
  /**
   * The ISO element of each field, by Protobuf field name. A repeated field is the element
   * repeated. `null`: an LRS field without an ISO element (a gateway keeps it aside).
   */
  readonly fields: Readonly<Record<string, string | null>>;
}

function elements(schema: DescMessage, fields: Record<string, string | null>): XmlElementMap {
  return { schema, fields };
}

/** The four top-level ISO messages, by Protobuf message name: the child element of `ISO18626Message`. */
export const ISO18626_MESSAGE_ELEMENTS: Readonly<Record<string, string>> = {
  Request: "request",
  RequestConfirmation: "requestConfirmation",
  SupplyingAgencyMessage: "supplyingAgencyMessage",
  SupplyingAgencyMessageConfirmation: "supplyingAgencyMessageConfirmation",
  RequestingAgencyMessage: "requestingAgencyMessage",
  RequestingAgencyMessageConfirmation: "requestingAgencyMessageConfirmation",
};

/** Every message of ill.proto, by Protobuf message name, with the XML element of each field. */
export const ISO18626_ELEMENTS: Readonly<Record<string, XmlElementMap>> = {
  Header: elements(HeaderSchema, {
    supplying_agency_id: "supplyingAgencyId",
    requesting_agency_id: "requestingAgencyId",
    consortial_id: "consortialId",
    multiple_item_request_id: "multipleItemRequestId",
    timestamp: "timestamp",
    requesting_agency_request_id: "requestingAgencyRequestId",
    supplying_agency_request_id: "supplyingAgencyRequestId",
    message_id: null,
  }),
  AgencyId: elements(AgencyIdSchema, {
    agency_id_type: "agencyIdType",
    agency_id_value: "agencyIdValue",
  }),
  Costs: elements(CostsSchema, {
    currency_code: "currencyCode",
    monetary_value: "monetaryValue",
  }),
  Address: elements(AddressSchema, {
    electronic_address: "electronicAddress",
    physical_address: "physicalAddress",
  }),
  ElectronicAddress: elements(ElectronicAddressSchema, {
    electronic_address_type: "electronicAddressType",
    electronic_address_data: "electronicAddressData",
  }),
  PhysicalAddress: elements(PhysicalAddressSchema, {
    line1: "line1",
    line2: "line2",
    locality: "locality",
    postal_code: "postalCode",
    region: "region",
    country: "country",
  }),
  Request: elements(RequestSchema, {
    header: "header",
    bibliographic_info: "bibliographicInfo",
    publication_info: "publicationInfo",
    service_info: "serviceInfo",
    supplier_info: "supplierInfo",
    requested_delivery_info: "requestedDeliveryInfo",
    requesting_agency_info: "requestingAgencyInfo",
    patron_info: "patronInfo",
    billing_info: "billingInfo",
  }),
  SupplyingAgencyMessage: elements(SupplyingAgencyMessageSchema, {
    header: "header",
    message_info: "messageInfo",
    status_info: "statusInfo",
    retry_info: "retryInfo",
    delivery_info: "deliveryInfo",
    shipping_info: "shippingInfo",
    return_info: "returnInfo",
  }),
  RequestingAgencyMessage: elements(RequestingAgencyMessageSchema, {
    header: "header",
    action: "action",
    note: "note",
  }),
  RequestConfirmation: elements(RequestConfirmationSchema, {
    confirmation_header: "confirmationHeader",
    error_data: "errorData",
  }),
  SupplyingAgencyMessageConfirmation: elements(SupplyingAgencyMessageConfirmationSchema, {
    confirmation_header: "confirmationHeader",
    reason_for_message: "reasonForMessage",
    error_data: "errorData",
  }),
  RequestingAgencyMessageConfirmation: elements(RequestingAgencyMessageConfirmationSchema, {
    confirmation_header: "confirmationHeader",
    action: "action",
    error_data: "errorData",
  }),
  ConfirmationHeader: elements(ConfirmationHeaderSchema, {
    supplying_agency_id: "supplyingAgencyId",
    requesting_agency_id: "requestingAgencyId",
    timestamp: "timestamp",
    requesting_agency_request_id: "requestingAgencyRequestId",
    timestamp_received: "timestampReceived",
    message_status: "messageStatus",
    message_id: null,
  }),
  ErrorData: elements(ErrorDataSchema, {
    error_type: "errorType",
    error_value: "errorValue",
  }),
  BibliographicInfo: elements(BibliographicInfoSchema, {
    supplier_unique_record_id: "supplierUniqueRecordId",
    title: "title",
    author: "author",
    author_id: "authorId",
    subtitle: "subtitle",
    series_title: "seriesTitle",
    edition: "edition",
    title_of_component: "titleOfComponent",
    author_of_component: "authorOfComponent",
    volume: "volume",
    issue: "issue",
    pages_requested: "pagesRequested",
    estimated_no_pages: "estimatedNoPages",
    bibliographic_item_id: "bibliographicItemId",
    sponsor: "sponsor",
    information_source: "informationSource",
    bibliographic_record_id: "bibliographicRecordId",
  }),
  BibliographicItemId: elements(BibliographicItemIdSchema, {
    bibliographic_item_identifier_code: "bibliographicItemIdentifierCode",
    bibliographic_item_identifier: "bibliographicItemIdentifier",
  }),
  BibliographicRecordId: elements(BibliographicRecordIdSchema, {
    bibliographic_record_identifier_code: "bibliographicRecordIdentifierCode",
    bibliographic_record_identifier: "bibliographicRecordIdentifier",
  }),
  PublicationInfo: elements(PublicationInfoSchema, {
    publisher: "publisher",
    publisher_id: "publisherId",
    publication_type: "publicationType",
    publication_date: "publicationDate",
    place_of_publication: "placeOfPublication",
  }),
  ServiceInfo: elements(ServiceInfoSchema, {
    request_type: "requestType",
    request_sub_type: "requestSubType",
    requesting_agency_previous_request_id: "requestingAgencyPreviousRequestId",
    service_type: "serviceType",
    service_level: "serviceLevel",
    item_format: "itemFormat",
    need_before_date: "needBeforeDate",
    copyright_compliance: "copyrightCompliance",
    any_edition: "anyEdition",
    preferred_edition: "preferredEdition",
    loan_condition: "loanCondition",
    start_date: "startDate",
    end_date: "endDate",
    note: "note",
  }),
  SupplierInfo: elements(SupplierInfoSchema, {
    sort_order: "sortOrder",
    supplier_code: "supplierCode",
    supplier_description: "supplierDescription",
    bibliographic_record_id: "bibliographicRecordId",
    call_number: "callNumber",
    summary_holdings: "summaryHoldings",
    availability_note: "availabilityNote",
  }),
  RequestedDeliveryInfo: elements(RequestedDeliveryInfoSchema, {
    sort_order: "sortOrder",
    address: "address",
    delivery_method: "deliveryMethod",
    courier_name: "courierName",
  }),
  RequestingAgencyInfo: elements(RequestingAgencyInfoSchema, {
    name: "name",
    contact_name: "contactName",
    address: "address",
  }),
  PatronInfo: elements(PatronInfoSchema, {
    patron_id: "patronId",
  }),
  BillingInfo: elements(BillingInfoSchema, {
    payment_method: "paymentMethod",
    maximum_costs: "maximumCosts",
    billing_method: "billingMethod",
    billing_name: "billingName",
    address: "address",
  }),
  MessageInfo: elements(MessageInfoSchema, {
    reason_for_message: "reasonForMessage",
    answer_yes_no: "answerYesNo",
    note: "note",
    reason_unfilled: "reasonUnfilled",
    reason_retry: "reasonRetry",
  }),
  StatusInfo: elements(StatusInfoSchema, {
    status: "status",
    expected_delivery_date: "expectedDeliveryDate",
    due_date: "dueDate",
    last_change: "lastChange",
  }),
  RetryInfo: elements(RetryInfoSchema, {
    loan_condition: "loanCondition",
    edition: "edition",
    item_format: "itemFormat",
    volume: "volume",
    service_type: "serviceType",
    service_level: "serviceLevel",
    delivery_method: "deliveryMethod",
    courier_name: "courierName",
    offered_costs: "offeredCosts",
    payment_method: "paymentMethod",
    retry_before: "retryBefore",
    retry_after: "retryAfter",
  }),
  DeliveryInfo: elements(DeliveryInfoSchema, {
    date_sent: "dateSent",
    item_id: "itemId",
    url: "URL",
    delivery_method: "deliveryMethod",
    address: "address",
    sent_to_patron: "sentToPatron",
    loan_condition: "loanCondition",
    item_format: "itemFormat",
    service_type: "serviceType",
    delivery_costs: "deliveryCosts",
    payment_method: "paymentMethod",
  }),
  ShippingInfo: elements(ShippingInfoSchema, {
    courier_name: "courierName",
    tracking_id: "trackingId",
    insurance: "insurance",
    insurance_third_party: "insuranceThirdParty",
    third_party_name: "thirdPartyName",
    insurance_costs: "insuranceCosts",
  }),
  ReturnInfo: elements(ReturnInfoSchema, {
    return_agency_id: "returnAgencyId",
    name: "name",
    physical_address: "physicalAddress",
  }),
};

/**
 * Elements that ISO 18626:2017 (schema v1.2, still spoken by many systems) names differently,
 * by "Message.field". Also different in 2017: offeredCosts, retryAfter and retryBefore sit in
 * messageInfo (2021: retryInfo), and retryInfo, shippingInfo, consortialId, authorId,
 * publisherId, preferredEdition, serviceInfo/loanCondition, HoldReturn, ReleaseHoldReturn and Lost do not exist.
 */
export const ISO18626_2017_NAMES: Readonly<Record<string, string>> = {
  "DeliveryInfo.delivery_method": "sentVia",
  "DeliveryInfo.item_format": "deliveredFormat",
  "ServiceInfo.item_format": "preferredFormat",
};

/** The XML element of a field ("Header", "requesting_agency_request_id" → "requestingAgencyRequestId"). */
export function xmlElementOf(message: string, field: string): string | null | undefined {
  return ISO18626_ELEMENTS[message]?.fields[field];
}

/** The Protobuf field of an XML element within a message, or undefined for an element we do not carry. */
export function fieldOfXmlElement(message: string, element: string): string | undefined {
  const map = ISO18626_ELEMENTS[message];
  if (!map) return undefined;
  for (const [field, xml] of Object.entries(map.fields)) if (xml === element) return field;
  return undefined;
}

/** The enum a code list translates, for tests and gateways that walk descriptors. */
export function codeListOf(schema: DescEnum): XmlCodeList<number> | undefined {
  return Object.values(ISO18626_CODES).find((list) => list.schema.typeName === schema.typeName) as
    | XmlCodeList<number>
    | undefined;
}
