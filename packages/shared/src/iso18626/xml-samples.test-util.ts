// One message of each kind the gateway writes, filled as far as LRS fills them, for the codec's
// unit tests and the xmllint test.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  Action,
  ErrorType,
  LoanCondition,
  MessageStatus,
  ReasonForMessage,
  ReasonRetry,
  ReasonUnfilled,
  RequestConfirmationSchema,
  RequestingAgencyMessageConfirmationSchema,
  RequestingAgencyMessageSchema,
  RequestSchema,
  RequestSubType,
  RequestType,
  ServiceType,
  Status,
  SupplyingAgencyMessageConfirmationSchema,
  SupplyingAgencyMessageSchema,
  YesNo,
} from "../gen/lrs/v1/ill_pb.js";
import type { Iso18626Message } from "./xml-message.js";

const at = (iso: string) => timestampFromDate(new Date(iso));
const lrs = { agencyIdType: "LRS", agencyIdValue: "LRS" };
const partner = { agencyIdType: "ISIL", agencyIdValue: "US-NjP" };

const confirmationHeader = {
  supplyingAgencyId: lrs,
  requestingAgencyId: partner,
  timestamp: at("2026-12-05T10:00:01Z"),
  requestingAgencyRequestId: "P-1",
  timestampReceived: at("2026-12-05T10:00:00Z"),
  messageStatus: MessageStatus.OK,
};

export function sampleRequest(): Iso18626Message {
  return {
    case: "request",
    value: create(RequestSchema, {
      header: {
        supplyingAgencyId: lrs,
        requestingAgencyId: partner,
        timestamp: at("2026-12-05T10:00:00Z"),
        requestingAgencyRequestId: "P-1",
        messageId: "m-1",
      },
      bibliographicInfo: {
        title: "Moby Dick & the whale <abridged>",
        author: "Melville, Herman",
        volume: ["1"],
        bibliographicItemId: [
          { bibliographicItemIdentifierCode: "ISBN", bibliographicItemIdentifier: "9780142437247" },
        ],
        bibliographicRecordId: [
          { bibliographicRecordIdentifierCode: "OCLC", bibliographicRecordIdentifier: "4444" },
        ],
      },
      publicationInfo: { publisher: "Penguin", publicationDate: "2003" },
      serviceInfo: {
        requestType: RequestType.NEW,
        requestSubType: [RequestSubType.PATRON_REQUEST],
        serviceType: ServiceType.LOAN,
        needBeforeDate: at("2027-01-31T00:00:00Z"),
        loanCondition: [LoanCondition.LIBRARY_USE_ONLY],
        note: "will supply",
      },
      supplierInfo: [{ sortOrder: 1, supplierCode: lrs, callNumber: "PS2384 .M6" }],
      requestedDeliveryInfo: [
        {
          sortOrder: 1,
          address: {
            kind: {
              case: "physicalAddress",
              value: { line1: "1 Nassau St", locality: "Princeton", country: "US" },
            },
          },
        },
      ],
      requestingAgencyInfo: {
        name: "Princeton University Library",
        address: [
          {
            kind: {
              case: "electronicAddress",
              value: { electronicAddressType: "Email", electronicAddressData: "ill@example.edu" },
            },
          },
        ],
      },
      patronInfo: { patronId: "p42" },
      billingInfo: {
        paymentMethod: "Invoice",
        maximumCosts: { currencyCode: "USD", monetaryValue: "25.00" },
      },
    }),
  };
}

export function sampleSupplyingAgencyMessages(): Iso18626Message[] {
  const header = {
    supplyingAgencyId: lrs,
    requestingAgencyId: partner,
    timestamp: at("2026-12-05T11:00:00Z"),
    requestingAgencyRequestId: "P-1",
    supplyingAgencyRequestId: "L-9",
  };
  const sam = (init: Record<string, unknown>): Iso18626Message => ({
    case: "supplyingAgencyMessage",
    value: create(SupplyingAgencyMessageSchema, { header, ...init }),
  });
  return [
    sam({
      messageInfo: { reasonForMessage: ReasonForMessage.REQUEST_RESPONSE },
      statusInfo: { status: Status.EXPECT_TO_SUPPLY, lastChange: at("2026-12-05T11:00:00Z") },
    }),
    sam({
      messageInfo: { reasonForMessage: ReasonForMessage.STATUS_CHANGE, note: "shipped today" },
      statusInfo: {
        status: Status.LOANED,
        dueDate: at("2027-01-05T00:00:00Z"),
        lastChange: at("2026-12-06T09:00:00Z"),
      },
      deliveryInfo: {
        dateSent: at("2026-12-06T09:00:00Z"),
        itemId: ["39002001234567"],
        deliveryMethod: "Mail",
        loanCondition: [LoanCondition.NO_REPRODUCTION],
        deliveryCosts: [{ currencyCode: "USD", monetaryValue: "12.00" }],
      },
    }),
    sam({
      messageInfo: {
        reasonForMessage: ReasonForMessage.REQUEST_RESPONSE,
        reasonUnfilled: ReasonUnfilled.NOT_ON_SHELF,
      },
      statusInfo: { status: Status.UNFILLED, lastChange: at("2026-12-05T11:00:00Z") },
    }),
    sam({
      messageInfo: {
        reasonForMessage: ReasonForMessage.REQUEST_RESPONSE,
        reasonRetry: ReasonRetry.COST_EXCEEDS_MAX_COST,
      },
      statusInfo: { status: Status.RETRY_POSSIBLE, lastChange: at("2026-12-05T11:00:00Z") },
      retryInfo: {
        offeredCosts: [{ currencyCode: "USD", monetaryValue: "30.00" }],
        retryAfter: at("2026-12-10T00:00:00Z"),
      },
    }),
    sam({
      messageInfo: { reasonForMessage: ReasonForMessage.STATUS_CHANGE },
      statusInfo: { status: Status.COPY_COMPLETED, lastChange: at("2026-12-05T12:00:00Z") },
      deliveryInfo: { dateSent: at("2026-12-05T12:00:00Z"), url: "https://lrs.example/copies/abc?t=1&u=2" },
    }),
    sam({
      messageInfo: { reasonForMessage: ReasonForMessage.RENEW_RESPONSE, answerYesNo: YesNo.Y },
      statusInfo: {
        status: Status.LOANED,
        dueDate: at("2027-02-05T00:00:00Z"),
        lastChange: at("2027-01-02T00:00:00Z"),
      },
    }),
    sam({
      messageInfo: { reasonForMessage: ReasonForMessage.CANCEL_RESPONSE, answerYesNo: YesNo.Y },
      statusInfo: { status: Status.CANCELLED, lastChange: at("2026-12-05T12:00:00Z") },
    }),
    sam({
      messageInfo: { reasonForMessage: ReasonForMessage.STATUS_CHANGE },
      statusInfo: { status: Status.LOAN_COMPLETED, lastChange: at("2027-01-10T00:00:00Z") },
    }),
  ];
}

export function sampleRequestingAgencyMessages(): Iso18626Message[] {
  return [
    Action.RECEIVED,
    Action.SHIPPED_RETURN,
    Action.CANCEL,
    Action.RENEW,
    Action.STATUS_REQUEST,
    Action.NOTIFICATION,
  ].map((action) => ({
    case: "requestingAgencyMessage",
    value: create(RequestingAgencyMessageSchema, {
      header: {
        supplyingAgencyId: partner,
        requestingAgencyId: lrs,
        timestamp: at("2026-12-07T08:00:00Z"),
        requestingAgencyRequestId: "R-3",
        supplyingAgencyRequestId: "S-77",
      },
      action,
      ...(action === Action.NOTIFICATION ? { note: "the patron asks for a longer loan" } : {}),
    }),
  }));
}

export function sampleConfirmations(): Iso18626Message[] {
  const error = {
    errorType: ErrorType.UNRECOGNISED_DATA_ELEMENT,
    errorValue: "request/foo: not an element of request",
  };
  return [
    { case: "requestConfirmation", value: create(RequestConfirmationSchema, { confirmationHeader }) },
    {
      case: "requestConfirmation",
      value: create(RequestConfirmationSchema, {
        confirmationHeader: { ...confirmationHeader, messageStatus: MessageStatus.ERROR },
        errorData: [error],
      }),
    },
    {
      case: "supplyingAgencyMessageConfirmation",
      value: create(SupplyingAgencyMessageConfirmationSchema, {
        confirmationHeader,
        reasonForMessage: ReasonForMessage.STATUS_CHANGE,
      }),
    },
    {
      case: "requestingAgencyMessageConfirmation",
      value: create(RequestingAgencyMessageConfirmationSchema, {
        confirmationHeader: { ...confirmationHeader, messageStatus: MessageStatus.ERROR },
        action: Action.RENEW,
        errorData: [
          {
            errorType: ErrorType.UNSUPPORTED_ACTION_TYPE,
            errorValue: "requestingAgencyMessage/action: Lost",
          },
        ],
      }),
    },
  ];
}

/** Every sample, each kind the gateway writes. */
export function allSamples(): Iso18626Message[] {
  return [
    sampleRequest(),
    ...sampleSupplyingAgencyMessages(),
    ...sampleRequestingAgencyMessages(),
    ...sampleConfirmations(),
  ];
}
