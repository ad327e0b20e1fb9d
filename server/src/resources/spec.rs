//! Describes each catalog table once: its columns, their wire names and the rules for client
//! input. The generic resource code (`resources/mod.rs`) and both stores read these tables, so
//! adding a field is one line here plus a migration.

use pos_protocol::auth::Role;

/// How a column is stored; each backend maps these to its own SQL types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Text,
    Int,
    Bool,
    Decimal,
}

#[derive(Debug, Clone, Copy)]
pub enum FieldKind {
    Text {
        max_len: usize,
    },
    /// Text limited to a fixed set of values.
    Choice(&'static [&'static str]),
    /// A 32-bit integer, as every integer field of the wire types is.
    Integer,
    Bool,
    /// A non-negative exact number with at most `places` decimal places.
    Decimal {
        places: u32,
    },
    /// The id of a live row of this table in the same business.
    Reference(&'static str),
}

impl FieldKind {
    pub fn storage(self) -> Storage {
        match self {
            FieldKind::Text { .. } | FieldKind::Choice(_) => Storage::Text,
            FieldKind::Integer | FieldKind::Reference(_) => Storage::Int,
            FieldKind::Bool => Storage::Bool,
            FieldKind::Decimal { .. } => Storage::Decimal,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Name in JSON (the original backend's).
    pub wire: &'static str,
    pub column: &'static str,
    pub kind: FieldKind,
    /// Must be given (and not null) on create.
    pub required: bool,
    /// May be null.
    pub nullable: bool,
    /// Clients may set it; otherwise the server derives it.
    pub writable: bool,
}

impl Field {
    const fn new(wire: &'static str, column: &'static str, kind: FieldKind) -> Self {
        Self {
            wire,
            column,
            kind,
            required: false,
            nullable: false,
            writable: true,
        }
    }

    pub const fn text(wire: &'static str, column: &'static str, max_len: usize) -> Self {
        Self::new(wire, column, FieldKind::Text { max_len })
    }

    pub const fn choice(
        wire: &'static str,
        column: &'static str,
        values: &'static [&'static str],
    ) -> Self {
        Self::new(wire, column, FieldKind::Choice(values))
    }

    pub const fn integer(wire: &'static str, column: &'static str) -> Self {
        Self::new(wire, column, FieldKind::Integer)
    }

    pub const fn boolean(wire: &'static str, column: &'static str) -> Self {
        Self::new(wire, column, FieldKind::Bool)
    }

    pub const fn decimal(wire: &'static str, column: &'static str, places: u32) -> Self {
        Self::new(wire, column, FieldKind::Decimal { places })
    }

    pub const fn reference(wire: &'static str, column: &'static str, table: &'static str) -> Self {
        Self::new(wire, column, FieldKind::Reference(table)).optional()
    }

    pub const fn required(mut self) -> Self {
        self.required = true;
        self.nullable = false;
        self
    }

    pub const fn optional(mut self) -> Self {
        self.nullable = true;
        self
    }

    pub const fn derived(mut self) -> Self {
        self.writable = false;
        self
    }
}

/// One catalog resource: a table of business-scoped, versioned, soft-deletable rows.
#[derive(Debug)]
pub struct ResourceSpec {
    pub table: &'static str,
    /// Name in conflict bodies and sync payloads, e.g. `product`.
    pub entity_type: &'static str,
    /// Name in messages, e.g. `Product`.
    pub label: &'static str,
    pub fields: &'static [Field],
    /// The least role that may create, change or delete rows (every role may read).
    pub write_role: Role,
    /// On create, these columns start with the value given for another one
    /// (a party's due starts at its opening balance).
    pub initial_copies: &'static [(&'static str, &'static str)],
    /// The JSON carries `productStock`: the sum of the product's live stock rows.
    pub with_stock_total: bool,
}

impl ResourceSpec {
    pub fn field(&self, column: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.column == column)
    }
}

/// Money has at most this many decimal places (the largest minor unit of any currency).
const MONEY: u32 = pos_protocol::money::MAX_MINOR_UNITS;
const QUANTITY: u32 = pos_protocol::money::QUANTITY_SCALE;
const RATE: u32 = 4;
const NAME: usize = 255;
const CODE: usize = 64;

pub static CATEGORIES: ResourceSpec = ResourceSpec {
    table: "categories",
    entity_type: "category",
    label: "Category",
    fields: &[
        Field::text("categoryName", "category_name", NAME).required(),
        Field::text("icon", "icon", 1000).optional(),
        Field::integer("status", "status"),
    ],
    write_role: Role::Manager,
    initial_copies: &[],
    with_stock_total: false,
};

pub static BRANDS: ResourceSpec = ResourceSpec {
    table: "brands",
    entity_type: "brand",
    label: "Brand",
    fields: &[
        Field::text("brandName", "brand_name", NAME).required(),
        Field::text("icon", "icon", 1000).optional(),
        Field::integer("status", "status"),
    ],
    write_role: Role::Manager,
    initial_copies: &[],
    with_stock_total: false,
};

pub static UNITS: ResourceSpec = ResourceSpec {
    table: "units",
    entity_type: "unit",
    label: "Unit",
    fields: &[
        Field::text("unitName", "unit_name", NAME).required(),
        Field::integer("status", "status"),
    ],
    write_role: Role::Manager,
    initial_copies: &[],
    with_stock_total: false,
};

pub static VATS: ResourceSpec = ResourceSpec {
    table: "vats",
    entity_type: "vat",
    label: "VAT rate",
    fields: &[
        Field::text("name", "name", NAME).required(),
        Field::decimal("rate", "rate", RATE).required(),
        Field::boolean("status", "status"),
    ],
    write_role: Role::Manager,
    initial_copies: &[],
    with_stock_total: false,
};

pub static PAYMENT_TYPES: ResourceSpec = ResourceSpec {
    table: "payment_types",
    entity_type: "payment_type",
    label: "Payment type",
    fields: &[
        Field::text("name", "name", NAME).required(),
        Field::boolean("is_credit", "is_credit"),
        Field::integer("status", "status"),
    ],
    write_role: Role::Manager,
    initial_copies: &[],
    with_stock_total: false,
};

pub static WAREHOUSES: ResourceSpec = ResourceSpec {
    table: "warehouses",
    entity_type: "warehouse",
    label: "Warehouse",
    fields: &[
        Field::text("name", "name", NAME).required(),
        Field::text("address", "address", 1000).optional(),
        Field::text("phone", "phone", CODE).optional(),
    ],
    write_role: Role::Manager,
    initial_copies: &[],
    with_stock_total: false,
};

pub static PRODUCTS: ResourceSpec = ResourceSpec {
    table: "products",
    entity_type: "product",
    label: "Product",
    fields: &[
        Field::text("productName", "product_name", NAME).required(),
        Field::text("productCode", "product_code", CODE).optional(),
        Field::text("barcode", "barcode", CODE).optional(),
        Field::reference("category_id", "category_id", "categories"),
        Field::reference("brand_id", "brand_id", "brands"),
        Field::reference("unit_id", "unit_id", "units"),
        Field::reference("vat_id", "vat_id", "vats"),
        Field::choice("vat_type", "vat_type", &["inclusive", "exclusive"]),
        Field::text("product_type", "product_type", CODE).optional(),
        Field::decimal("productPurchasePrice", "product_purchase_price", MONEY),
        Field::decimal("productSalePrice", "product_sale_price", MONEY),
        Field::decimal("productWholeSalePrice", "product_wholesale_price", MONEY),
        Field::decimal("productDealerPrice", "product_dealer_price", MONEY),
        Field::decimal("alert_qty", "alert_qty", QUANTITY),
    ],
    write_role: Role::Manager,
    initial_copies: &[],
    with_stock_total: true,
};

pub static STOCKS: ResourceSpec = ResourceSpec {
    table: "stocks",
    entity_type: "stock",
    label: "Stock",
    fields: &[
        Field::reference("product_id", "product_id", "products").required(),
        Field::reference("warehouse_id", "warehouse_id", "warehouses"),
        Field::reference("variant_id", "variant_id", "product_variants"),
        Field::text("batch_no", "batch_no", CODE).optional(),
        Field::decimal("productStock", "product_stock", QUANTITY),
        Field::decimal("productPurchasePrice", "product_purchase_price", MONEY),
        Field::decimal("productSalePrice", "product_sale_price", MONEY),
        Field::decimal("productWholeSalePrice", "product_wholesale_price", MONEY),
        Field::decimal("productDealerPrice", "product_dealer_price", MONEY),
        Field::text("mfg_date", "mfg_date", 32).optional(),
        Field::text("expire_date", "expire_date", 32).optional(),
    ],
    write_role: Role::Manager,
    initial_copies: &[],
    with_stock_total: false,
};

pub const PARTY_TYPES: &[&str] = &["Customer", "Retailer", "Dealer", "Wholesaler", "Supplier"];

pub static PARTIES: ResourceSpec = ResourceSpec {
    table: "parties",
    entity_type: "party",
    label: "Party",
    fields: &[
        Field::text("name", "name", NAME).required(),
        Field::text("email", "email", NAME).optional(),
        Field::text("phone", "phone", CODE).optional(),
        Field::text("address", "address", 1000).optional(),
        Field::choice("type", "party_type", PARTY_TYPES),
        // What the party owes moves only with sales, payments and returns.
        Field::decimal("due", "due", MONEY).derived(),
        Field::decimal("credit_limit", "credit_limit", MONEY).optional(),
        Field::decimal("opening_balance", "opening_balance", MONEY),
        Field::integer("status", "status"),
    ],
    write_role: Role::Cashier,
    initial_copies: &[("due", "opening_balance")],
    with_stock_total: false,
};

/// The business's people as terminals mirror them (read only through sync; staff are managed
/// by `users.rs`): name and role. The PIN's Argon2 hash is read only so that sync can seal it
/// for the asking till (`sync::seal_pins` takes it out of every record); the password's never.
pub static CASHIERS: ResourceSpec = ResourceSpec {
    table: "users",
    entity_type: "cashier",
    label: "Cashier",
    fields: &[
        Field::text("name", "name", NAME).required(),
        Field::choice("role", "role", &["owner", "manager", "cashier"]).required(),
        Field::text("pin_hash", "pin_hash", NAME)
            .optional()
            .derived(),
        Field::boolean("is_active", "is_active"),
    ],
    write_role: Role::Owner,
    initial_copies: &[],
    with_stock_total: false,
};

pub static VARIANTS: ResourceSpec = ResourceSpec {
    table: "product_variants",
    entity_type: "variant",
    label: "Variant",
    fields: &[
        Field::reference("product_id", "product_id", "products").required(),
        Field::text("sku", "sku", 100).required(),
        Field::text("barcode", "barcode", 100).optional(),
        Field::decimal("price", "price", MONEY).optional(),
        Field::decimal("cost_price", "cost_price", MONEY).optional(),
        Field::decimal("wholesale_price", "wholesale_price", MONEY).optional(),
        Field::decimal("dealer_price", "dealer_price", MONEY).optional(),
        Field::decimal("weight", "weight", QUANTITY).optional(),
        Field::text("image", "image", 255).optional(),
        Field::boolean("is_active", "is_active"),
        Field::integer("sort_order", "sort_order"),
    ],
    write_role: Role::Manager,
    initial_copies: &[],
    with_stock_total: false,
};
