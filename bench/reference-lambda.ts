/**
 * The reference for `npm run bench -- lambdas`: a minimal Lambda of the same shape as ours, a
 * Hono app behind hono/aws-lambda with one DynamoDB client made at init (the usual pattern),
 * bundled and measured exactly like our entry points.
 */
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { Hono } from "hono";
import { handle } from "hono/aws-lambda";

const dynamo = new DynamoDBClient({});
const table = process.env.PKI_TABLE ?? "hello";

const app = new Hono();
app.get("/", (c) => c.text("hello"));
app.get("/items/:id", async (c) => {
  const { Item } = await dynamo.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: c.req.param("id") } } }),
  );
  return Item ? c.json(Item) : c.notFound();
});

export const handler = handle(app);
