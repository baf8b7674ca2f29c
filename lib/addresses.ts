/** Whether a client address is this machine (IPv4, IPv6, or IPv4 mapped into IPv6). */
export function isLoopback(address: string): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

/**
 * Whether a client address is on the premises' own network: loopback, private IPv4 (RFC 1918),
 * link-local, carrier-grade NAT, or an IPv6 unique-local / link-local address. The homeowner's
 * panel and the local API answer these only: a port forwarded from the Internet gets a 403.
 */
export function isLocalNetwork(address: string): boolean {
  if (isLoopback(address)) return true;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  const octets = v4.split('.').map(Number);
  if (octets.length === 4 && octets.every((n) => Number.isInteger(n) && n >= 0 && n <= 255)) {
    const [a, b] = octets as [number, number, number, number];
    return (
      a === 10 ||
      a === 127 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  const lower = address.toLowerCase();
  return /^f[cd][0-9a-f]{2}:/.test(lower) || /^fe[89ab][0-9a-f]:/.test(lower);
}
