export { RegionalNode } from "./server.js";
export { regionalPolicy } from "./policy.js";
