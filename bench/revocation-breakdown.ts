/**
 * Two parts of one of our CRL publications, each timed alone on the seeded data folder while
 * the runtime is stopped: reading every revocation back through DynamoRevocationStore from
 * dynalite (the publisher's consistent Query in 1 MB pages), and building and signing the CRL
 * from them. They say how much of ours' latency local mode's DynamoDB stand-in accounts for
 * (on AWS that part is DynamoDB's) and how much our own code does.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { buildCrl, type RevokedEntry } from "@spca/core/crl/build";
import { loadConfig } from "@spca/core/policy/config";
import { DataFolderCa } from "@spca/core/store/data-folder-ca";
import { DynamoRevocationStore } from "@spca/core/store/dynamo-revocation-store";
import {
  LOCAL_CREDENTIALS,
  LOCAL_TABLE,
  startDynamo,
} from "../packages/functions/src/local/stand-ins.ts";
import { shippedConfig } from "./bench-ca.ts";

/** Best of a few rounds: the first pays for JIT and cold caches. */
const ROUNDS = 3;

export interface PublicationParts {
  readonly entries: number;
  readonly queryMs: number;
  readonly buildMs: number;
}

export async function publicationParts(dataDir: string, caId: string): Promise<PublicationParts> {
  const authority = await new DataFolderCa(dataDir, loadConfig(shippedConfig)).issuingAuthority();
  const dynamo = await startDynamo(dataDir);
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: "us-east-1",
    credentials: LOCAL_CREDENTIALS,
  });
  try {
    const store = new DynamoRevocationStore({ client, tableName: LOCAL_TABLE });
    let queryMs = Infinity;
    let buildMs = Infinity;
    let entries = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const queried = performance.now();
      const pages: (readonly RevokedEntry[])[] = [];
      for await (const page of store.revokedEntries(caId, new Date(0))) pages.push(page);
      queryMs = Math.min(queryMs, performance.now() - queried);
      entries = pages.reduce((n, page) => n + page.length, 0);

      const now = new Date();
      const built = performance.now();
      await buildCrl(authority, {
        number: 1n,
        thisUpdate: now,
        nextUpdate: new Date(now.getTime() + 7 * 86_400_000),
        entries: (function* () {
          for (const page of pages) yield* page;
        })(), // as the publisher streams them
      });
      buildMs = Math.min(buildMs, performance.now() - built);
    }
    return { entries, queryMs, buildMs };
  } finally {
    client.destroy();
    await dynamo.close();
  }
}
