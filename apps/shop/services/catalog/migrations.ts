import type { Migration } from "@plexus/core";

interface SeedProduct {
  readonly id: string;
  readonly name: string;
  readonly category: string;
  readonly priceCents: number;
  readonly stock: number;
}

// The seeded catalog. This list is part of migration 2: once applied it is never re-read, so
// editing it changes nothing in an existing database. Add products with a new migration.
// All prices are in EUR so that any basket has one currency.
const seed: readonly SeedProduct[] = [
  { id: "prd_dune", name: "Dune (paperback)", category: "books", priceCents: 1299, stock: 250 },
  {
    id: "prd_sicp",
    name: "Structure and Interpretation of Computer Programs",
    category: "books",
    priceCents: 4850,
    stock: 120,
  },
  {
    id: "prd_ddia",
    name: "Designing Data-Intensive Applications",
    category: "books",
    priceCents: 4199,
    stock: 180,
  },
  {
    id: "prd_little-prince",
    name: "The Little Prince",
    category: "books",
    priceCents: 899,
    stock: 300,
  },
  {
    id: "prd_cookbook-salt",
    name: "Salt, Fat, Acid, Heat",
    category: "books",
    priceCents: 3200,
    stock: 140,
  },
  {
    id: "prd_atlas-world",
    name: "Atlas of the World, 12th edition",
    category: "books",
    priceCents: 7500,
    stock: 100,
  },
  {
    id: "prd_usb-c-cable",
    name: "USB-C Cable 2 m",
    category: "electronics",
    priceCents: 1499,
    stock: 500,
  },
  {
    id: "prd_headphones-anc",
    name: "Noise-Cancelling Headphones",
    category: "electronics",
    priceCents: 24900,
    stock: 110,
  },
  {
    id: "prd_mech-keyboard",
    name: "Mechanical Keyboard, Brown Switches",
    category: "electronics",
    priceCents: 8990,
    stock: 150,
  },
  {
    id: "prd_wireless-mouse",
    name: "Wireless Mouse",
    category: "electronics",
    priceCents: 2999,
    stock: 320,
  },
  {
    id: "prd_power-bank",
    name: "Power Bank 20000 mAh",
    category: "electronics",
    priceCents: 3999,
    stock: 260,
  },
  {
    id: "prd_e-reader",
    name: "E-Reader 6-inch",
    category: "electronics",
    priceCents: 12999,
    stock: 130,
  },
  {
    id: "prd_chef-knife",
    name: "Chef's Knife 20 cm",
    category: "kitchen",
    priceCents: 5900,
    stock: 160,
  },
  {
    id: "prd_moka-pot",
    name: "Moka Pot, 6 Cups",
    category: "kitchen",
    priceCents: 3450,
    stock: 210,
  },
  {
    id: "prd_cast-iron-pan",
    name: "Cast Iron Skillet 28 cm",
    category: "kitchen",
    priceCents: 4500,
    stock: 140,
  },
  {
    id: "prd_french-press",
    name: "French Press 1 L",
    category: "kitchen",
    priceCents: 2795,
    stock: 230,
  },
  {
    id: "prd_cutting-board",
    name: "Oak Cutting Board",
    category: "kitchen",
    priceCents: 3900,
    stock: 175,
  },
  {
    id: "prd_kitchen-scale",
    name: "Digital Kitchen Scale",
    category: "kitchen",
    priceCents: 1990,
    stock: 280,
  },
  {
    id: "prd_tent-2p",
    name: "Two-Person Backpacking Tent",
    category: "outdoor",
    priceCents: 19900,
    stock: 100,
  },
  {
    id: "prd_sleeping-bag",
    name: "Sleeping Bag, -5 °C",
    category: "outdoor",
    priceCents: 12900,
    stock: 115,
  },
  {
    id: "prd_headlamp",
    name: "Rechargeable Headlamp",
    category: "outdoor",
    priceCents: 3499,
    stock: 340,
  },
  {
    id: "prd_water-bottle",
    name: "Insulated Water Bottle 750 ml",
    category: "outdoor",
    priceCents: 2490,
    stock: 400,
  },
  {
    id: "prd_trekking-poles",
    name: "Trekking Poles (pair)",
    category: "outdoor",
    priceCents: 5990,
    stock: 125,
  },
  {
    id: "prd_camping-stove",
    name: "Camping Stove",
    category: "outdoor",
    priceCents: 4490,
    stock: 135,
  },
  {
    id: "prd_notebook-a5",
    name: "Dotted Notebook A5",
    category: "office",
    priceCents: 1450,
    stock: 450,
  },
  {
    id: "prd_fountain-pen",
    name: "Fountain Pen, Medium Nib",
    category: "office",
    priceCents: 2890,
    stock: 190,
  },
  { id: "prd_desk-lamp", name: "LED Desk Lamp", category: "office", priceCents: 4990, stock: 145 },
  {
    id: "prd_monitor-stand",
    name: "Bamboo Monitor Stand",
    category: "office",
    priceCents: 3990,
    stock: 155,
  },
  {
    id: "prd_sticky-notes",
    name: "Sticky Notes, 12 Pads",
    category: "office",
    priceCents: 699,
    stock: 600,
  },
  {
    id: "prd_desk-organizer",
    name: "Desk Organizer",
    category: "office",
    priceCents: 2290,
    stock: 170,
  },
];

function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

const seedSql = `INSERT INTO products (id, name, category, price_cents, currency, stock) VALUES
${seed
  .map(
    (p) =>
      `  (${sqlString(p.id)}, ${sqlString(p.name)}, ${sqlString(p.category)}, ${p.priceCents}, 'EUR', ${p.stock})`,
  )
  .join(",\n")};`;

/** The catalog's schema, forward-only. */
export const catalogMigrations: readonly Migration[] = [
  {
    id: 1,
    name: "create products",
    sql: `
CREATE TABLE products (
  id text PRIMARY KEY,
  name text NOT NULL,
  category text NOT NULL,
  price_cents bigint NOT NULL CHECK (price_cents > 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  stock integer NOT NULL CHECK (stock >= 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
-- Listing order is (name, id) in the "C" collation: bytewise, so the order is the same on every
-- server whatever its locale. The category filter uses the same order.
CREATE INDEX products_name_id_idx ON products (name COLLATE "C", id COLLATE "C");
CREATE INDEX products_category_name_id_idx ON products (category, name COLLATE "C", id COLLATE "C");
`,
  },
  { id: 2, name: "seed products", sql: seedSql },
  {
    id: 3,
    name: "create reservations",
    sql: `
-- One row per reservation id, kept forever: RESERVED while it holds stock, RELEASED once given
-- back (or as a tombstone when released before it was ever reserved, with no lines).
CREATE TABLE reservations (
  reservation_id text PRIMARY KEY,
  -- [{"productId": "...", "quantity": n}], one line per product.
  lines jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('RESERVED', 'RELEASED')),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  released_at timestamptz,
  CHECK ((status = 'RELEASED') = (released_at IS NOT NULL))
);
`,
  },
];
