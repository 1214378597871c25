import { runServiceProcess } from '@shopflow/platform/service';
import { gatewayService } from './service.js';

runServiceProcess(gatewayService);
