/**
 * Run as a child process by observability.test.ts, with the environment the Lambda runtime sets
 * (AWS_EXECUTION_ENV, LAMBDA_TASK_ROOT, _X_AMZN_TRACE_ID): invokes an observed handler that
 * calls S3 (a local HTTP server) through a traced client, and prints as JSON what reached the
 * X-Ray daemon address (a local UDP socket).
 */
import { createSocket } from "node:dgram";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { HeadBucketCommand, S3Client } from "@aws-sdk/client-s3";

const daemon = createSocket("udp4");
const documents: unknown[] = [];
daemon.on("message", (message) => {
  // Each datagram: a header line, then one segment document.
  const [, body] = message.toString("utf8").split("\n");
  if (body) documents.push(JSON.parse(body));
});
await new Promise<void>((resolve) => daemon.bind(0, "127.0.0.1", resolve));
process.env.AWS_XRAY_DAEMON_ADDRESS = `127.0.0.1:${daemon.address().port}`;

const s3 = createServer((_req, res) => res.writeHead(200).end());
await new Promise<void>((resolve) => s3.listen(0, "127.0.0.1", resolve));

// Powertools reads the environment when observability.ts is imported, so only now.
const { observed, tracedClient, tracer } = await import("../../src/lambda/observability.ts");
const client = tracedClient(
  new S3Client({
    region: "eu-west-1",
    endpoint: `http://127.0.0.1:${(s3.address() as AddressInfo).port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  }),
);
const handler = observed(
  "probe",
  async (event: { bucket: string }) => {
    await client.send(new HeadBucketCommand({ Bucket: event.bucket }));
    return "done";
  },
  { keys: () => ({ certificateRequestId: "req-42" }) },
);
const result = await handler(
  { bucket: "spca-private" },
  { awsRequestId: "aws-req-1", functionName: "spca-probe" },
);
await new Promise((resolve) => setTimeout(resolve, 300));
daemon.close();
s3.close();
process.stdout.write(
  `${JSON.stringify({ enabled: tracer.isTracingEnabled(), result, documents })}\n`,
);
