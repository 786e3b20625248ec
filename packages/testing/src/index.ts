export { countAbortControllers, countingTimers } from "./allocation-counters.ts";
export { createFakeClock, type FakeClock } from "./fake-clock.ts";
export {
  contentType,
  expectApiResponse,
  headerValue,
  hostileEncoding,
  hostileString,
  httpMethod,
  pathChar,
  pathSegment,
  queryString,
  requestBody,
  requestHeaders,
  type ApiResponse,
} from "./http-arbitraries.ts";
export {
  startOtlpReceiver,
  type OtlpReceiver,
  type OtlpValue,
  type ReceivedExport,
  type ReceivedSpan,
} from "./otlp-receiver.ts";
export {
  requireServer,
  serverAvailable,
  serverUrl,
  type ServerName,
  type ServerProbeOptions,
} from "./require-server.ts";
export {
  createTestDatabase,
  type TestDatabase,
  type TestDatabaseOptions,
} from "./test-database.ts";
export {
  createStatementCounter,
  type DbSource,
  type StatementCount,
  type StatementCounter,
} from "./statement-counter.ts";
export {
  describeBrokerConformance,
  type ConformanceAdapter,
  type ConformanceConnection,
  type RestartableServer,
} from "./broker-conformance.ts";
export { removeKafkaPrefix } from "./kafka-namespace.ts";
export { startPrivateKafka, type PrivateKafka } from "./private-kafka.ts";
