import { runServiceProcess } from '@shopflow/platform/service';
import { notificationService } from './service.js';

runServiceProcess(notificationService);
