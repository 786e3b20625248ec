import { defineTopology } from "@plexus/host";
import { shopResilience } from "./shop-resilience.ts";
import { createShopGateway } from "../gateway/create-shop-gateway.ts";
import { catalogService } from "../services/catalog/service.ts";
import { notificationsService } from "../services/notifications/service.ts";
import { ordersService } from "../services/orders/service.ts";
import { paymentsService } from "../services/payments/service.ts";
import { usersService } from "../services/users/service.ts";

/**
 * The shop as a modular monolith: every service and the gateway in one process, on embedded
 * storage (one PGlite under PLEXUS_DATA_DIR) and the in-process broker with each service's
 * transactional outbox — `npm start`.
 */
export default defineTopology({
  name: "monolith",
  hosts: [
    {
      name: "shop",
      services: [
        usersService,
        catalogService,
        paymentsService,
        ordersService,
        notificationsService,
      ],
      edge: createShopGateway,
      resilience: shopResilience,
    },
  ],
});
