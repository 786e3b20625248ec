import { defineTopology } from "@plexus/host";
import { createShopGateway } from "../gateway/create-shop-gateway.ts";
import { catalogService } from "../services/catalog/service.ts";
import { usersService } from "../services/users/service.ts";

/**
 * The shop as a modular monolith: every service and the gateway in one process, on embedded
 * storage (one PGlite under PLEXUS_DATA_DIR) — `npm start`.
 */
export default defineTopology({
  name: "monolith",
  hosts: [
    {
      name: "shop",
      services: [usersService, catalogService],
      edge: createShopGateway,
    },
  ],
});
