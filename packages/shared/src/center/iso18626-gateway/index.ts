export {
  confirmationXml,
  type GatewayAnswer,
  GatewayInbound,
  type InboundCredentials,
} from "./inbound.js";
export { MAX_BODY_BYTES } from "./listener.js";
export { gatewayMigrations } from "./migrations.js";
export { runGatewayOutbound } from "./outbound.js";
export { type GatewayParts, gatewayParts } from "./parts.js";
