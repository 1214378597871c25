import { runServiceProcess } from '@shopflow/platform/service';
import { orderService } from './service.js';

runServiceProcess(orderService);
