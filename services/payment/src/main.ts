import { runServiceProcess } from '@shopflow/platform/service';
import { paymentService } from './service.js';

runServiceProcess(paymentService);
