export { MemberNode } from "./server.js";
export { memberPolicy } from "./policy.js";
