export { memberPolicy } from "./policy.js";
export { MemberNode } from "./server.js";
