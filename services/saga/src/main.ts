// Telemetry starts before anything else is loaded, so that everything loaded after it is traced.
import { startTelemetry } from '@shopflow/platform/telemetry';

startTelemetry('saga');
const { runServiceProcess } = await import('@shopflow/platform/service');
const { sagaService } = await import('./service.js');
runServiceProcess(sagaService);
