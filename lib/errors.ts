/** The message of anything thrown, for log lines and HTTP replies. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
