/** `tcp://host:port` endpoints as ZeroMQ spells them; `*` binds every interface. */
export interface TcpEndpoint {
  host: string;
  port: number;
}

export function parseTcpEndpoint(endpoint: string): TcpEndpoint {
  const match = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(endpoint);
  if (!match) throw new Error(`invalid ZMQ endpoint "${endpoint}" (expected tcp://host:port)`);
  const rawHost = match[1] as string;
  const port = Number(match[2]);
  if (port > 65_535) throw new Error(`invalid port in ZMQ endpoint "${endpoint}"`);
  const host = rawHost === "*" ? "0.0.0.0" : rawHost.replace(/^\[(.*)\]$/, "$1");
  return { host, port };
}

export function formatTcpEndpoint(host: string, port: number): string {
  return `tcp://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
