/**
 * The client address the per-IP rate limit counts against. `X-Forwarded-For` is a list
 * that each proxy extends with the address of its peer; everything left of what the
 * trusted proxies wrote was written by the client and proves nothing. So the address is
 * taken `trustedHops` entries from the right — the peer the outermost trusted proxy saw —
 * and with no trusted proxy (0, the default) it is the socket's peer, whatever the headers
 * say.
 */

const ADDRESS = /^[0-9a-fA-F:.]{1,64}$/;

/**
 * The client's address, or `invalid` when the chosen entry is not an IP address, or
 * `unknown` when there is none.
 *
 * @example
 * clientAddress({ forwardedFor: '6.6.6.6, 203.0.113.7', peer: '10.0.0.2', trustedHops: 1 }) // '203.0.113.7'
 * clientAddress({ forwardedFor: '6.6.6.6', peer: '10.0.0.2', trustedHops: 0 })              // '10.0.0.2'
 */
export function clientAddress(options: { forwardedFor: string | undefined; peer: string | undefined; trustedHops: number }): string {
  const { forwardedFor, peer, trustedHops } = options;
  let address = peer;
  if (trustedHops > 0) {
    const entries = (forwardedFor ?? '').split(',').map((entry) => entry.trim());
    // Fewer entries than trusted proxies: the request did not come through them all, so
    // no entry can be trusted; the peer is all that is known.
    if (entries.length >= trustedHops && !(entries.length === 1 && entries[0] === '')) address = entries[entries.length - trustedHops];
  }
  if (!address) return 'unknown';
  return ADDRESS.test(address) ? address : 'invalid';
}
