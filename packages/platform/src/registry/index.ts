export {
  Health,
  keepRegistered,
  probeHealth,
  readyUrl,
  type Instance,
  type KeptRegistration,
  type Registration,
  type Registry,
} from './types.js';
export { natsRegistry, REGISTRY_BUCKET, REGISTRY_STREAM } from './nats.js';
export { consulRegistry, type ConsulOptions } from './consul.js';
