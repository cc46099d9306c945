export { regionalPolicy } from "./policy.js";
export { RegionalNode } from "./server.js";
