// Telemetry starts before anything else is loaded, so that everything loaded after it is traced.
import { startTelemetry } from '@shopflow/platform/telemetry';

startTelemetry('gateway');
const { runServiceProcess } = await import('@shopflow/platform/service');
const { gatewayService } = await import('./service.js');
runServiceProcess(gatewayService);
