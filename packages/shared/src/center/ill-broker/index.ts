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
  type Route,
  requestIdOf,
} from "./relay.js";
export {
  buildRota,
  DEFAULT_RESPONSE_TIME_SECONDS,
  type Rota,
  type RotaHolder,
  type RotaInput,
} from "./rota.js";
