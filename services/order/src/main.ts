// Telemetry starts before anything else is loaded, so that everything loaded after it is traced.
import { startTelemetry } from '@shopflow/platform/telemetry';

startTelemetry('order');
const { runServiceProcess } = await import('@shopflow/platform/service');
const { orderService } = await import('./service.js');
runServiceProcess(orderService);
