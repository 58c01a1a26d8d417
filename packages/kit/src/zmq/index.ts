/** A TypeScript ZMTP 3.x subset (TCP, NULL mechanism) that interoperates with libzmq peers. */
export { ZmtpConnection } from "./connection.js";
export { DealerSocket, type DealerSocketOptions } from "./dealer-socket.js";
export { formatTcpEndpoint, parseTcpEndpoint, type TcpEndpoint } from "./endpoint.js";
export * from "./frame.js";
export { Inbox } from "./inbox.js";
export { PubSocket, type PubSocketOptions } from "./pub-socket.js";
export { RouterSocket } from "./router-socket.js";
export { SubSocket, type SubSocketOptions } from "./sub-socket.js";
