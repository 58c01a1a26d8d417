/**
 * The official `openai` SDK, re-exported from the gateway package where it is a dev dependency, so
 * tests outside it (test/e2e) use the very client applications use.
 */
export {
  APIError,
  AuthenticationError,
  BadRequestError,
  default as OpenAI,
  NotFoundError,
  RateLimitError,
} from "openai";
