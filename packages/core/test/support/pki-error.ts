/** Assertions on the core's typed errors. */
import assert from "node:assert/strict";
import { type ErrorCode, PkiError } from "../../src/errors.ts";

/** Asserts `fn` throws a PkiError with `code` whose message contains every one of `mentions`. */
export function assertPkiError(
  fn: () => unknown,
  code: ErrorCode,
  ...mentions: string[]
): PkiError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected ${code}, but nothing was thrown`);
  assert.ok(caught instanceof PkiError, `expected a PkiError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const mention of mentions) {
    assert.ok(
      caught.message.includes(mention),
      `message ${JSON.stringify(caught.message)} should mention ${JSON.stringify(mention)}`,
    );
  }
  return caught;
}

/** Asserts `promise` rejects with a PkiError with `code`, and returns that error. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<PkiError> {
  let caught: unknown;
  await assert.rejects(promise, (e) => {
    caught = e;
    return e instanceof PkiError && e.code === code;
  });
  return caught as PkiError;
}
