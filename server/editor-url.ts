/** The base URL of a server listening on `host:port` (an IPv6 host in brackets). */
export function serverUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * The editor page's address for a person to open: signed in when given a
 * token (the page moves it out of the address bar at once). A server bound
 * to every interface is reached through localhost.
 *
 * @example editorUrl('0.0.0.0', 3000, token) // 'http://localhost:3000/?token=eyJ…'
 */
export function editorUrl(host: string, port: number, token?: string): string {
  const reachable = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return `${serverUrl(reachable, port)}/${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}
