/** valibot issues as messages that name where the problem is: "profiles.server.maxSans: …". */
import * as v from "valibot";

export function issueMessages(issues: readonly v.BaseIssue<unknown>[]): string[] {
  return issues.map((issue) => {
    const path = v.getDotPath(issue);
    // A missing key: valibot says "Invalid key: Expected "x" but received undefined".
    const objectSchema = issue.type === "object" || issue.type === "strict_object";
    if (issue.kind === "schema" && objectSchema && issue.input === undefined && path) {
      return `${path} is required`;
    }
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}
