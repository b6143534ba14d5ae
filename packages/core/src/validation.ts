/** valibot issues as messages that name where the problem is: "profiles.server.maxSans: …". */
import * as v from "valibot";

export function issueMessages(issues: readonly v.BaseIssue<unknown>[]): string[] {
  return issues.map((issue) => {
    const path = v.getDotPath(issue);
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}
