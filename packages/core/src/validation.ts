/**
 * valibot issues as sentences that name where the problem is: "profiles.server.maxSans: …".
 * valibot's own wording for a missing key, an unknown key or a value that is not an object
 * ("Invalid key: Expected never but received …") is rewritten; a schema's own messages are
 * kept. Given the schema, an unknown key is answered with the fields allowed there.
 */
import * as v from "valibot";

export interface IssueMessageOptions {
  /** The schema that was checked: lets an unknown key be answered with the allowed ones. */
  readonly schema?: v.GenericSchema;
  /** What a key is called where the input came from: "field" (default), "query parameter". */
  readonly key?: string;
}

export function issueMessages(
  issues: readonly v.BaseIssue<unknown>[],
  options: IssueMessageOptions = {},
): string[] {
  const noun = options.key ?? "field";
  return issues.map((issue) => {
    const path = v.getDotPath(issue);
    const objectSchema =
      issue.type === "object" || issue.type === "strict_object" || issue.type === "loose_object";
    if (issue.kind === "schema" && objectSchema) {
      // A missing key: valibot says "Invalid key: Expected "x" but received undefined".
      if (issue.input === undefined && path) return `${path} is required`;
      // An unknown key, named by the key itself: the problem is in the object around it.
      if (issue.expected === "never" && typeof issue.input === "string") {
        const around = pathKeys(issue).slice(0, -1);
        const where = around.length > 0 ? `${around.join(".")}: ` : "";
        const parent = issue.path?.at(-1)?.input;
        const allowed = options.schema && fieldsAt(options.schema, around, parent);
        const unknown = `${where}unknown ${noun} ${JSON.stringify(issue.input)}`;
        if (!allowed?.length) return unknown;
        return allowed.length === 1
          ? `${unknown}: the only allowed ${noun} is ${allowed[0]}`
          : `${unknown}: allowed ${noun}s are ${allowed.join(", ")}`;
      }
      if (issue.message.startsWith("Invalid type:")) {
        const fields = options.schema && fieldsAt(options.schema, pathKeys(issue), undefined);
        const shape = fields?.length ? ` with the ${noun}s ${fields.join(", ")}` : "";
        return `${path ? `${path} must be` : "expected"} an object${shape}, not ${issue.received}`;
      }
    }
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}

function pathKeys(issue: v.BaseIssue<unknown>): unknown[] {
  return (issue.path ?? []).map((item) => item.key);
}

/** What a schema node may hold, as far as finding the object entries below it goes. */
interface Node {
  readonly type?: string;
  readonly entries?: Record<string, Node>;
  readonly wrapped?: Node;
  readonly options?: readonly Node[];
  readonly item?: Node;
  readonly items?: readonly Node[];
  readonly key?: Node;
  readonly value?: Node;
  readonly pipe?: readonly { readonly kind: string }[];
  readonly literal?: unknown;
}

/**
 * The keys an object schema at `path` allows. Through optional, nullable, pipe, array, record
 * and union or variant; where a union leaves several objects, those that fit `input` (an
 * object whose literal keys match, e.g. a variant's discriminator) are taken.
 */
function fieldsAt(schema: v.GenericSchema, path: readonly unknown[], input: unknown) {
  let nodes = expand(schema as unknown as Node);
  for (const key of path) nodes = nodes.flatMap((n) => expand(child(n, key)));
  const objects = nodes.filter((n) => n.entries !== undefined);
  const fitting = objects.filter((n) => fits(n, input));
  const chosen = fitting.length > 0 ? fitting : objects;
  return [...new Set(chosen.flatMap((n) => Object.keys(n.entries!)))];
}

/** The schema itself and what it wraps or combines, for looking up entries. */
function expand(node: Node | undefined): Node[] {
  if (!node) return [];
  const found: Node[] = [node];
  if (node.wrapped) found.push(...expand(node.wrapped));
  for (const option of node.options ?? []) found.push(...expand(option));
  // A pipe spreads its first schema; later schemas in it (a record after a custom) count too.
  for (const step of (node.pipe ?? []).slice(1)) {
    if (step.kind === "schema") found.push(...expand(step as Node));
  }
  return found;
}

function child(node: Node, key: unknown): Node | undefined {
  if (node.entries && typeof key === "string" && Object.hasOwn(node.entries, key)) {
    return node.entries[key];
  }
  if (node.type === "array") return node.item;
  if (node.type === "tuple" && typeof key === "number") return node.items?.[key];
  if (node.type === "record") return node.value;
  return undefined;
}

/**
 * Whether the object `input` can be the one `node` describes: its literal entries match (an
 * optional literal, such as a variant's default discriminator, also when the key is absent).
 */
function fits(node: Node, input: unknown): boolean {
  if (typeof input !== "object" || input === null) return true;
  return Object.entries(node.entries!).every(([key, entry]) => {
    const value = (input as Record<string, unknown>)[key];
    if (entry.type === "literal") return value === entry.literal;
    if (entry.type === "optional" && entry.wrapped?.type === "literal") {
      return value === undefined || value === entry.wrapped.literal;
    }
    return true;
  });
}
