import { runServiceProcess } from '@shopflow/platform/service';
import { inventoryService } from './service.js';

runServiceProcess(inventoryService);
