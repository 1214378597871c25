export { createPaymentClient, type PaymentClient } from './payment-client.js';
