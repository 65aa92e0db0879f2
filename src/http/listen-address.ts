// --web.listen-address in Go's host:port syntax (net.Listen), where an empty host means every
// interface. Kept free of imports: the CLI validates the flag before it loads the HTTP stack.

export interface ListenAddress {
  /** undefined: every interface (IPv6 and IPv4 when the host has IPv6, else IPv4). */
  readonly host: string | undefined;
  readonly port: number;
}

export type ListenAddressResult = { readonly ok: true; readonly address: ListenAddress } | { readonly ok: false; readonly message: string };

/** `:10049`, `127.0.0.1:10049`, `[::1]:10049`, `localhost:10049`; port 0 picks a free port. */
export function parseListenAddress(text: string): ListenAddressResult {
  const colon = text.lastIndexOf(':');
  if (colon === -1) {
    return /^\d+$/.test(text)
      ? { ok: false, message: `listen address "${text}" has no host part; use ":${text}" to listen on every interface` }
      : { ok: false, message: `listen address "${text}" has no port; expected [host]:port, e.g. ":10049" or "127.0.0.1:10049"` };
  }
  let host = text.slice(0, colon);
  const portText = text.slice(colon + 1);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    return { ok: false, message: `listen address "${text}": port "${portText}" is not a number from 0 to 65535` };
  }
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) return { ok: false, message: `listen address "${text}": missing "]" after the IPv6 address` };
    host = host.slice(1, -1);
    if (host === '') return { ok: false, message: `listen address "${text}": empty IPv6 address in brackets` };
  } else if (host.includes(':')) {
    return { ok: false, message: `listen address "${text}": an IPv6 address must be in brackets, e.g. "[::1]:10049"` };
  } else if (/[\s/]/.test(host)) {
    return { ok: false, message: `listen address "${text}": "${host}" is not a host name or address` };
  }
  return { ok: true, address: { host: host === '' ? undefined : host, port: Number(portText) } };
}
