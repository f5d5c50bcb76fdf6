/** `tcp://HOST:PORT` split into its parts (PORT may be `*` for "any"); undefined for ipc and the like. */
export function parseTcpEndpoint(endpoint: string): { host: string; port: string } | undefined {
  const m = /^tcp:\/\/(.+):(\d+|\*)$/.exec(endpoint);
  return m ? { host: m[1], port: m[2] } : undefined;
}
