import { StrataError } from "@strata/kit";
import { expect } from "vitest";

/** The gRPC status a failed call ended with (grpc-js ServiceError kept as the StrataError's cause). */
export async function statusOf(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await call;
  } catch (error) {
    expect(error).toBeInstanceOf(StrataError);
    const cause = (error as StrataError).cause as { code: number };
    return { code: cause.code, message: (error as StrataError).message };
  }
  throw new Error("the call succeeded");
}
