export {
  identifierQuery,
  type ResolvedTitle,
  RotaBroker,
  type RotaBrokerOptions,
  type RotaCallOptions,
  titleOfView,
  titleOfWire,
  titleQuery,
} from "./broker.js";
export { type ChildDeliveryOptions, pendingChildDestinations, runChildDelivery } from "./child-delivery.js";
export { addIllCenterCommands } from "./cli.js";
export { IllForbiddenError, IllRouteError } from "./errors.js";
export {
  confirmationXml,
  type GatewayAnswer,
  GatewayInbound,
  type InboundCredentials,
} from "./gateway-inbound.js";
export { MAX_BODY_BYTES } from "./gateway-listener.js";
export { gatewayMigrations } from "./gateway-migrations.js";
export { runGatewayOutbound } from "./gateway-outbound.js";
export { type GatewayParts, gatewayParts } from "./gateway-parts.js";
export {
  type IllCenterOptions,
  type IllCenterParts,
  type IllCenterServiceOptions,
  illCenterParts,
  illCenterService,
} from "./ill-service.js";
export { illRelayMigrations } from "./migrations.js";
export {
  type Balance,
  CHILD_PREFIX,
  childDestination,
  externalPartnerOf,
  GATEWAY_PREFIX,
  gatewayDestination,
  IllRelay,
  type IllRelayOptions,
  institutionsOf,
  type Route,
  regionalCenterOf,
  requestIdOf,
} from "./relay.js";
export {
  buildRota,
  DEFAULT_RESPONSE_TIME_SECONDS,
  lendsMaterial,
  type Rota,
  type RotaHolder,
  type RotaInput,
} from "./rota.js";
