/** Whether a client address is this machine (IPv4, IPv6, or IPv4 mapped into IPv6). */
export function isLoopback(address: string): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}
