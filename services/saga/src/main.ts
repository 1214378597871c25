import { runServiceProcess } from '@shopflow/platform/service';
import { sagaService } from './service.js';

runServiceProcess(sagaService);
