export { createClient, type ClientOptions } from "./client.ts";
export { createConnectHandler } from "./protocol-connect/connect-handler.ts";
export { createRpcHandler } from "./rpc-handler.ts";
export type {
  RpcHandlerOptions,
  RpcRequest,
  RpcRequestListener,
  RpcResponse,
} from "./call-setup.ts";
export {
  codeFromConnectHttpStatus,
  connectHttpStatus,
} from "./protocol-connect/connect-protocol.ts";
export type { Codec } from "./message-codec.ts";
export { decodeConnectError, encodeConnectError } from "./protocol-connect/connect-error.ts";
export { errorDomain } from "./error-details.ts";
export { StatusSchema, type Status } from "./gen/google/rpc/status_pb.js";
export {
  createInProcessTransport,
  type InProcessTransportOptions,
} from "./in-process-transport.ts";
export {
  createHttpClients,
  type HttpClients,
  type HttpClientsOptions,
} from "./http-upstream/http-clients.ts";
export {
  createHttpUpstream,
  headerTimeoutMs,
  type HttpUpstreamInterceptor,
  type HttpUpstreamCall,
  type HttpUpstreamOptions,
} from "./http-upstream/http-upstream.ts";
export { httpStatusError, isHttpFailureStatus } from "./http-upstream/upstream-response.ts";
export { methodPath } from "./method-path.ts";
export { bindService, type ServiceBinding } from "./method-table.ts";
export {
  createNetworkTransport,
  type NetworkTransport,
  type NetworkTransportOptions,
} from "./protocol-connect/network-transport.ts";
export {
  headerCaller,
  headerCorrelationId,
  headerPrincipalSubject,
  headerPrincipalTier,
  headerRequestId,
  headerTraceparent,
} from "./propagation.ts";
export { createRpcServer, type RpcServer, type RpcServerOptions } from "./rpc-server.ts";
export {
  createServiceAuthenticator,
  type ServiceAuthenticator,
  type ServiceAuthenticatorOptions,
} from "./service-authenticator.ts";
export {
  createServiceCredentials,
  type ServiceCredentials,
  type ServiceCredentialsOptions,
} from "./service-credentials.ts";
export {
  headerServiceToken,
  mintServiceToken,
  parseServiceKey,
  serviceTokenMaxTtlMs,
  type MintServiceTokenOptions,
} from "./service-token.ts";
export {
  BadRequestSchema,
  BadRequest_FieldViolationSchema,
  ErrorInfoSchema,
  type BadRequest,
  type BadRequest_FieldViolation,
  type ErrorInfo,
} from "./gen/google/rpc/error_details_pb.js";
export { fieldRulesOf, fieldViolation, validatorOf, violationsOf } from "./message-validator.ts";
export { validatedHandlers } from "./validated-handlers.ts";
export type { FieldRules } from "./gen/plexus/validate/v1/validate_pb.js";
