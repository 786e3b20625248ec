import { describeBrokerConformance } from "@plexus/testing";
import { createMemoryBroker } from "../src/index.ts";

describeBrokerConformance({
  name: "memory",
  // One process: a crashed consumer's messages come back through the outbox, not the broker.
  durable: false,
  async connect() {
    const broker = createMemoryBroker();
    return {
      broker,
      publishRaw: (type, payload) => broker.publishRaw(type, payload),
      destroy: () => broker.destroy(),
    };
  },
});
