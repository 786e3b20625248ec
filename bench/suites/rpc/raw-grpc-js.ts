/**
 * `raw-grpc-js`: `@grpc/grpc-js` server and client (one HTTP/2 channel), the messages
 * (de)serialised by the generated `@bufbuild/protobuf` types through a hand-written service
 * definition (no proto-loader, no protobufjs on the path).
 */
import { fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import {
  credentials,
  makeGenericClientConstructor,
  Metadata,
  Server,
  ServerCredentials,
  status,
  type MethodDefinition,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceError,
} from "@grpc/grpc-js";
import type { RpcClient, RpcContender } from "./contender.ts";
import {
  checkProductId,
  GetProductRequestSchema,
  GetProductResponseSchema,
  productId,
  request,
  response,
  type GetProductRequest,
  type GetProductResponse,
} from "./product.ts";

function serializer<S extends DescMessage>(schema: S) {
  return (message: MessageShape<S>): Buffer => {
    const bytes = toBinary(schema, message);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer<S extends DescMessage>(schema: S) {
  return (bytes: Buffer): MessageShape<S> => fromBinary(schema, bytes);
}

const getProduct: MethodDefinition<GetProductRequest, GetProductResponse> = {
  path: "/shop.catalog.v1.CatalogService/GetProduct",
  requestStream: false,
  responseStream: false,
  requestSerialize: serializer(GetProductRequestSchema),
  requestDeserialize: deserializer(GetProductRequestSchema),
  responseSerialize: serializer(GetProductResponseSchema),
  responseDeserialize: deserializer(GetProductResponseSchema),
};
const definition = { GetProduct: getProduct };

type UnaryCall = (
  request: GetProductRequest,
  metadata: Metadata,
  callback: (error: ServiceError | null, response?: GetProductResponse) => void,
) => void;

/**
 * A grpc-js client of `GetProduct` (one HTTP/2 channel): the client of `raw-grpc-js` and of
 * `plexus-grpc` alike. `header`, if given, is one metadata entry (name and current value) sent on
 * every call, like a service token.
 */
export async function connectGrpcJs(
  endpoint: string,
  header?: () => readonly [string, string],
): Promise<RpcClient> {
  const Client = makeGenericClientConstructor(definition, "shop.catalog.v1.CatalogService");
  const client = new Client(endpoint, credentials.createInsecure());
  const unary = (client["GetProduct"] as UnaryCall).bind(client);
  const metadata = new Metadata();
  let sent: string | undefined;
  return {
    async call() {
      if (header !== undefined) {
        // grpc-js validates a metadata value as it is set: only when it changes, as a channel's
        // call credentials would.
        const [name, value] = header();
        if (value !== sent) metadata.set(name, (sent = value));
      }
      const answer = await new Promise<GetProductResponse | undefined>((resolve, reject) =>
        unary(request, metadata, (error, reply) => (error ? reject(error) : resolve(reply))),
      );
      checkProductId(answer?.product?.id);
    },
    async close() {
      client.close();
    },
  };
}

export function rawGrpcJs(): RpcContender {
  return {
    async serve() {
      const server = new Server();
      server.addService(definition, {
        GetProduct(
          call: ServerUnaryCall<GetProductRequest, GetProductResponse>,
          callback: sendUnaryData<GetProductResponse>,
        ) {
          if (call.request.id !== productId) {
            callback({ code: status.NOT_FOUND, details: "no such product" });
          } else {
            callback(null, response);
          }
        },
      });
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
          error ? reject(error) : resolve(bound),
        ),
      );
      return {
        endpoint: `127.0.0.1:${port}`,
        close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
      };
    },
    connect: (endpoint) => connectGrpcJs(endpoint),
  };
}
