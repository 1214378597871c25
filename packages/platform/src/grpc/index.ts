export { appErrorOfGrpc, clientChannelOptions, unaryCall, type UnaryMethod } from './client.js';
export {
  createGrpcServer,
  listenAddress,
  metadataHeaders,
  unaryHandler,
  type GrpcServer,
  type GrpcServerOptions,
} from './server.js';
export * as grpc from '@grpc/grpc-js';
