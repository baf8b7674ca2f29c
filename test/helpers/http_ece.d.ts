declare module 'http_ece' {
  /** RFC 8188 / RFC 8291 decryption, as a browser does for a Web Push message. */
  export function decrypt(
    buffer: Buffer,
    params: { version: 'aes128gcm'; privateKey: import('node:crypto').ECDH; authSecret: string },
  ): Buffer;
}
