/**
 * How a gateway's MQTT uplink connects and comes back, shared with the bench's fleet so that its
 * 10,000 simulated gateways behave as real ones do.
 */
export const UPLINK_TIMING = {
  keepaliveS: 30,
  /**
   * TCP, TLS and CONNACK together. A central restarted under thousands of gateways takes their
   * handshakes in turn (central/broker/tls-admission.ts): a gateway that gave up after 10 s would
   * come back 10 s later at the back of the queue, and the central would have spent a handshake
   * on the connection it left. A broker that refuses (down, or a node killed) fails at once
   * whatever this is.
   */
  connectTimeoutMs: 30_000,
  /** Reconnects spread and growing while every broker is away. */
  backoff: { initialMs: 1000, maxMs: 10_000 },
} as const;
