export { waitFor, freePort, isListening } from './wait.js';
export { NatsServer, findNatsServer, type NatsServerOptions } from './nats-server.js';
export { createDatabase, dropDatabase, postgresAvailable, PG_ADMIN_URL } from './postgres.js';
export { PostgresCluster, findPostgresBin, type PostgresClusterOptions } from './postgres-cluster.js';
export { ServiceProcess, REPO_ROOT, type LineSink, type ServiceProcessOptions } from './supervisor.js';
export { TestSystem, DATA_SERVICES, type DataService, type SystemOptions } from './system.js';
export { TcpProxy } from './tcp-proxy.js';
export { grpcServing, httpReady } from './health.js';
export { startTestService, type TestService, type TestServiceOptions, type Dialect } from './test-service.js';
