import { request } from "./http.ts";

/**
 * The circuit breaker state of every callee the shop has called, from its `/metrics`
 * (`plexus_circuit_state`: 0 closed, 1 half-open, 2 open).
 */
export async function circuitStates(baseUrl: string): Promise<Record<string, number>> {
  const reply = await request(baseUrl, "/metrics");
  if (reply.status !== 200) throw new Error(`/metrics answered ${reply.status}`);
  const states: Record<string, number> = {};
  for (const match of reply.text.matchAll(/^plexus_circuit_state\{callee="([^"]+)"\} (\d+)$/gm)) {
    states[match[1]!] = Number(match[2]);
  }
  return states;
}
