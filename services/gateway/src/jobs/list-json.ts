import { z } from "zod";

/** `limit` and `after` as OpenAI's list endpoints take them. */
export function pageQuery(defaultLimit: number, maxLimit: number) {
  return {
    limit: z.coerce
      .number()
      .int("must be a whole number")
      .min(1, `must be between 1 and ${maxLimit}`)
      .max(maxLimit, `must be between 1 and ${maxLimit}`)
      .default(defaultLimit),
    after: z.string().min(1).optional(),
  };
}
