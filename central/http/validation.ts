import type { z } from 'zod';

/** Parse a request part; on failure a 400 with the reasons, through the server's error handler (logged, counted). */
export function parseOr400<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  // In words for whoever reads it on a page: "changes: nothing to change; pin: too short".
  const reasons = result.error.issues.map((issue) =>
    issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
  );
  throw Object.assign(new Error(reasons.join('; ')), { statusCode: 400 });
}
