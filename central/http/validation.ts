import { z } from 'zod';

/** Parse a request part; on failure a 400 with the reasons, through the server's error handler (logged, counted). */
export function parseOr400<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw Object.assign(new Error(z.prettifyError(result.error).replaceAll('\n', '; ')), { statusCode: 400 });
}
