import { describe, expect, it } from 'vitest';
import { SERVICE_EVENTS, Subject } from '@shopflow/contracts';
import { assertDeclaredEvents } from './service.js';

const consuming = (subjects: readonly Subject[]) => Object.fromEntries(subjects.map((s) => [s, () => undefined]));

describe('a service definition against SERVICE_EVENTS', () => {
  it('passes when it publishes and consumes what the table declares', () => {
    for (const [name, { publishes, consumes }] of Object.entries(SERVICE_EVENTS)) {
      expect(() =>
        assertDeclaredEvents({ name: name as keyof typeof SERVICE_EVENTS, publishes, consumes: consuming(consumes) }),
      ).not.toThrow();
    }
    expect(() => assertDeclaredEvents({ name: 'gateway' })).not.toThrow();
  });

  it('fails when its consumes or publishes drift from the table', () => {
    const { publishes, consumes } = SERVICE_EVENTS.saga;
    expect(() => assertDeclaredEvents({ name: 'saga', publishes, consumes: consuming(consumes.slice(1)) })).toThrow(
      /the saga service publishes \[saga.order-status\] and consumes \[orders.ended-by-api\], but SERVICE_EVENTS declares/,
    );
    expect(() =>
      assertDeclaredEvents({ name: 'saga', publishes, consumes: consuming([...consumes, Subject.PaymentFailed]) }),
    ).toThrow(/SERVICE_EVENTS declares/);
    expect(() =>
      assertDeclaredEvents({ name: 'order', publishes: [], consumes: consuming(SERVICE_EVENTS.order.consumes) }),
    ).toThrow(/SERVICE_EVENTS declares/);
    expect(() => assertDeclaredEvents({ name: 'inventory', publishes: [Subject.OrderCreated] })).toThrow(
      /SERVICE_EVENTS declares/,
    );
  });
});
