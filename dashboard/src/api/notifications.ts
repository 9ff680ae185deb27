// /api/v1/notification-rules: rules, their test send and their deliveries. Shapes come
// straight from the generated schema; secrets are write-only, so reads carry less.
import { request } from "./client";
import type { components } from "./schema";

type Schemas = components["schemas"];

export type Rule = Schemas["RuleRead"];
export type RuleCreate = Schemas["RuleCreate"];
export type RuleUpdate = Schemas["RuleUpdate"];
export type Trigger = RuleCreate["triggers"][number];
export type Channel = RuleCreate["channels"][number];
/** A channel as the server returns it: webhook URL without its secret, Slack host only. */
export type ChannelRead = Rule["channels"][number];
export type ThresholdOp = Schemas["MetricThresholdTrigger"]["op"];
export type AlertLevel = Schemas["RunAlertTrigger"]["min_level"];
export type ChannelTestResult = Schemas["ChannelTestResult"];
export type Delivery = Schemas["DeliveryRead"];

const BASE = "/notification-rules";

export async function listRules(signal?: AbortSignal): Promise<Rule[]> {
  const list = await request<Schemas["RuleList"]>("GET", BASE, signal ? { signal } : {});
  return list.rules;
}

export async function createRule(body: RuleCreate): Promise<Rule> {
  return request<Rule>("POST", BASE, { body });
}

export async function updateRule(id: number, body: RuleUpdate): Promise<Rule> {
  return request<Rule>("PATCH", `${BASE}/${id}`, { body });
}

export async function deleteRule(id: number): Promise<void> {
  await request<undefined>("DELETE", `${BASE}/${id}`);
}

/** Sends a test message to every channel of the rule now; one result per channel. */
export async function testRule(id: number): Promise<ChannelTestResult[]> {
  const result = await request<Schemas["RuleTestResult"]>("POST", `${BASE}/${id}/test`);
  return result.results;
}

export async function listDeliveries(
  id: number,
  limit: number,
  signal?: AbortSignal,
): Promise<Delivery[]> {
  const list = await request<Schemas["DeliveryList"]>("GET", `${BASE}/${id}/deliveries`, {
    query: { limit },
    ...(signal ? { signal } : {}),
  });
  return list.deliveries;
}
