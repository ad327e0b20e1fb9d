//! A seeded store catalog as the server would send it: reference data (categories, brands,
//! units, VAT rates, payment types, a warehouse, settings), products with one stock row each,
//! and parties, all as `pos_protocol` types.
//!
//! Every record is a pure function of (seed, kind, index), so any page can be made on its own
//! without holding the catalog in memory, and the same seed gives the same bytes on every
//! machine: the terminal benchmarks, the server's load generator and the demo all see one
//! catalog.
//!
//! Ids are dense and start at 1: product `i` (0-based) has id `i + 1`, and so has its stock row.

use chrono::{DateTime, Duration, TimeZone, Utc};
use pos_protocol::entities::{
    Brand, Category, Currency, CurrencyPosition, EntityKind, Party, PaymentType, Product, Settings,
    Stock, Unit, Vat, Warehouse,
};
use pos_protocol::sync::{ChangeSet, ChangesData, ChangesResponse, FullData, FullResponse};
use rust_decimal::Decimal;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetConfig {
    pub seed: u64,
    pub products: u32,
    pub parties: u32,
    /// The business every record belongs to.
    pub business_id: i64,
}

impl Default for DatasetConfig {
    /// The size the performance targets name: 100k products with stock and 20k parties.
    fn default() -> Self {
        Self {
            seed: 42,
            products: 100_000,
            parties: 20_000,
            business_id: 1,
        }
    }
}

/// SplitMix64: tiny, and the same sequence on every machine and with every version of every
/// crate, which a catalog shared by the terminal, the server and the demo needs.
struct Draw(u64);

impl Draw {
    fn for_record(seed: u64, kind: u64, index: u64) -> Draw {
        let mut draw = Draw(
            seed ^ kind.wrapping_mul(0xD1B5_4A32_D192_ED03)
                ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        draw.next();
        draw
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (the modulo bias is far below anything a catalog shows).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as u64) as i64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn percent(&mut self, chance: u64) -> bool {
        self.below(100) < chance
    }
}

/// Record kinds, to give each its own random stream.
const PRODUCT_STREAM: u64 = 1;
const STOCK_STREAM: u64 = 2;
const PARTY_STREAM: u64 = 3;

#[derive(Clone, Copy)]
enum VatClass {
    Standard,
    Reduced,
    Zero,
}

#[derive(Clone, Copy, PartialEq)]
enum UnitKind {
    Piece,
    Kilogram,
    Litre,
    Pack,
}

struct CategorySpec {
    name: &'static str,
    icon: &'static str,
    vat: VatClass,
    unit: UnitKind,
    /// Sold by weight: decimal quantities, three places.
    weighed: bool,
    /// Sale price range in cents.
    cents: (i64, i64),
    nouns: &'static [&'static str],
    sizes: &'static [&'static str],
}

const CATEGORIES: &[CategorySpec] = &[
    CategorySpec {
        name: "Beverages",
        icon: "cup-soda",
        vat: VatClass::Standard,
        unit: UnitKind::Litre,
        weighed: false,
        cents: (49, 699),
        nouns: &[
            "Cola",
            "Lemonade",
            "Orange Juice",
            "Apple Juice",
            "Mineral Water",
            "Sparkling Water",
            "Iced Tea",
            "Energy Drink",
            "Ginger Ale",
            "Tonic Water",
            "Cranberry Juice",
            "Smoothie",
        ],
        sizes: &["330ml", "500ml", "1L", "1.5L", "2L", "6 x 330ml"],
    },
    CategorySpec {
        name: "Dairy",
        icon: "milk",
        vat: VatClass::Reduced,
        unit: UnitKind::Piece,
        weighed: false,
        cents: (59, 899),
        nouns: &[
            "Whole Milk",
            "Semi Skimmed Milk",
            "Greek Yogurt",
            "Natural Yogurt",
            "Butter",
            "Cheddar Cheese",
            "Mozzarella",
            "Cream Cheese",
            "Sour Cream",
            "Kefir",
            "Double Cream",
            "Feta",
        ],
        sizes: &["150g", "200g", "250g", "500g", "1L", "2L"],
    },
    CategorySpec {
        name: "Bakery",
        icon: "croissant",
        vat: VatClass::Zero,
        unit: UnitKind::Piece,
        weighed: false,
        cents: (39, 499),
        nouns: &[
            "White Bread",
            "Wholemeal Bread",
            "Croissant",
            "Bagels",
            "Baguette",
            "Muffins",
            "Rye Bread",
            "Pita Bread",
            "Brioche",
            "Crumpets",
        ],
        sizes: &["400g", "800g", "x4", "x6", "single"],
    },
    CategorySpec {
        name: "Snacks",
        icon: "popcorn",
        vat: VatClass::Standard,
        unit: UnitKind::Pack,
        weighed: false,
        cents: (49, 399),
        nouns: &[
            "Potato Chips",
            "Tortilla Chips",
            "Salted Peanuts",
            "Popcorn",
            "Pretzels",
            "Crackers",
            "Trail Mix",
            "Rice Cakes",
            "Cashew Nuts",
        ],
        sizes: &["40g", "100g", "150g", "200g", "6 pack"],
    },
    CategorySpec {
        name: "Confectionery",
        icon: "candy",
        vat: VatClass::Standard,
        unit: UnitKind::Piece,
        weighed: false,
        cents: (29, 599),
        nouns: &[
            "Milk Chocolate",
            "Dark Chocolate",
            "Chocolate Bar",
            "Gummy Bears",
            "Mints",
            "Toffee",
            "Liquorice",
            "Marshmallows",
            "Chewing Gum",
        ],
        sizes: &["35g", "45g", "100g", "200g", "multipack"],
    },
    CategorySpec {
        name: "Pantry",
        icon: "wheat",
        vat: VatClass::Reduced,
        unit: UnitKind::Piece,
        weighed: false,
        cents: (69, 1299),
        nouns: &[
            "Basmati Rice",
            "Spaghetti",
            "Penne Pasta",
            "Plain Flour",
            "Brown Sugar",
            "Olive Oil",
            "Sunflower Oil",
            "Tomato Ketchup",
            "Mayonnaise",
            "Peanut Butter",
            "Strawberry Jam",
            "Honey",
            "Soy Sauce",
            "Sea Salt",
        ],
        sizes: &["250g", "500g", "1kg", "2kg", "500ml", "1L"],
    },
    CategorySpec {
        name: "Canned Food",
        icon: "soup",
        vat: VatClass::Reduced,
        unit: UnitKind::Piece,
        weighed: false,
        cents: (45, 399),
        nouns: &[
            "Baked Beans",
            "Chopped Tomatoes",
            "Sweetcorn",
            "Tuna Chunks",
            "Chickpeas",
            "Coconut Milk",
            "Kidney Beans",
            "Sardines",
            "Tomato Soup",
        ],
        sizes: &["200g", "400g", "4 x 400g"],
    },
    CategorySpec {
        name: "Breakfast",
        icon: "sunrise",
        vat: VatClass::Reduced,
        unit: UnitKind::Piece,
        weighed: false,
        cents: (99, 599),
        nouns: &[
            "Corn Flakes",
            "Porridge Oats",
            "Muesli",
            "Granola",
            "Bran Flakes",
        ],
        sizes: &["375g", "500g", "750g", "1kg"],
    },
    CategorySpec {
        name: "Hot Drinks",
        icon: "coffee",
        vat: VatClass::Reduced,
        unit: UnitKind::Piece,
        weighed: false,
        cents: (149, 1499),
        nouns: &[
            "Ground Coffee",
            "Instant Coffee",
            "Coffee Beans",
            "Black Tea",
            "Green Tea",
            "Hot Chocolate",
            "Herbal Tea",
        ],
        sizes: &["100g", "200g", "250g", "500g", "40 bags", "80 bags"],
    },
    CategorySpec {
        name: "Frozen",
        icon: "snowflake",
        vat: VatClass::Reduced,
        unit: UnitKind::Pack,
        weighed: false,
        cents: (99, 899),
        nouns: &[
            "Garden Peas",
            "Fish Fingers",
            "Vanilla Ice Cream",
            "Pizza Margherita",
            "Chicken Nuggets",
            "Oven Chips",
            "Mixed Vegetables",
        ],
        sizes: &["400g", "500g", "900g", "1kg", "1L"],
    },
    CategorySpec {
        name: "Fruit & Vegetables",
        icon: "apple",
        vat: VatClass::Zero,
        unit: UnitKind::Kilogram,
        weighed: true,
        cents: (79, 699),
        nouns: &[
            "Bananas",
            "Apples",
            "Oranges",
            "Tomatoes",
            "Potatoes",
            "Onions",
            "Carrots",
            "Lemons",
            "Grapes",
            "Pears",
            "Courgettes",
            "Peppers",
        ],
        sizes: &["loose", "per kg"],
    },
    CategorySpec {
        name: "Meat & Fish",
        icon: "beef",
        vat: VatClass::Zero,
        unit: UnitKind::Kilogram,
        weighed: true,
        cents: (499, 2999),
        nouns: &[
            "Chicken Breast",
            "Beef Mince",
            "Pork Sausages",
            "Smoked Bacon",
            "Lamb Chops",
            "Salmon Fillet",
            "Cod Fillet",
            "Turkey Breast",
        ],
        sizes: &["per kg", "loose"],
    },
    CategorySpec {
        name: "Household",
        icon: "spray-can",
        vat: VatClass::Standard,
        unit: UnitKind::Piece,
        weighed: false,
        cents: (99, 1299),
        nouns: &[
            "Washing Up Liquid",
            "Laundry Detergent",
            "Bleach",
            "Kitchen Roll",
            "Toilet Tissue",
            "Bin Bags",
            "Sponges",
            "Fabric Softener",
            "Glass Cleaner",
        ],
        sizes: &["500ml", "1L", "2L", "4 rolls", "9 rolls", "20 pack"],
    },
    CategorySpec {
        name: "Personal Care",
        icon: "sparkles",
        vat: VatClass::Standard,
        unit: UnitKind::Piece,
        weighed: false,
        cents: (99, 999),
        nouns: &[
            "Shampoo",
            "Conditioner",
            "Shower Gel",
            "Toothpaste",
            "Toothbrush",
            "Hand Soap",
            "Deodorant",
            "Body Lotion",
            "Razor Blades",
        ],
        sizes: &["75ml", "150ml", "250ml", "400ml", "twin pack"],
    },
    CategorySpec {
        name: "Baby",
        icon: "baby",
        vat: VatClass::Reduced,
        unit: UnitKind::Pack,
        weighed: false,
        cents: (99, 1599),
        nouns: &[
            "Baby Wipes",
            "Nappies",
            "Baby Food",
            "Baby Lotion",
            "Formula Milk",
        ],
        sizes: &["size 3", "size 4", "64 pack", "125g", "800g"],
    },
    CategorySpec {
        name: "Pet Supplies",
        icon: "paw-print",
        vat: VatClass::Standard,
        unit: UnitKind::Pack,
        weighed: false,
        cents: (79, 2499),
        nouns: &[
            "Dog Food",
            "Cat Food",
            "Cat Litter",
            "Dog Treats",
            "Bird Seed",
        ],
        sizes: &["400g", "1kg", "2kg", "12 x 100g", "5L"],
    },
    CategorySpec {
        name: "Stationery",
        icon: "pencil",
        vat: VatClass::Standard,
        unit: UnitKind::Piece,
        weighed: false,
        cents: (49, 899),
        nouns: &[
            "Ballpoint Pens",
            "Notebook",
            "Sticky Notes",
            "Pencils",
            "Envelopes",
            "Sticky Tape",
        ],
        sizes: &["A4", "A5", "10 pack", "single", "50 pack"],
    },
];

const DESCRIPTORS: &[&str] = &[
    "Organic",
    "Classic",
    "Original",
    "Premium",
    "Value",
    "Family",
    "Light",
    "Extra",
    "Natural",
    "Fresh",
    "Select",
    "Traditional",
    "Everyday",
    "Deluxe",
    "Finest",
    "Simply",
    "Mild",
    "Strong",
    "Zero",
    "Gold",
];

const BRAND_FIRST: &[&str] = &[
    "Golden", "Green", "Sunny", "Royal", "Blue", "Happy", "Silver", "Old", "Little", "Wild",
    "Mountain", "River", "Meadow", "Harvest", "Ocean", "Urban", "Nordic", "Alpine", "Red",
    "Northern",
];

const BRAND_SECOND: &[&str] = &[
    "Farm", "Fields", "Kitchen", "Valley", "Orchard", "Bay", "Hill", "Grove", "Mills", "Brothers",
    "Pantry", "Dairy", "Garden", "Creek", "Acres",
];

/// GS1 company prefixes of a few countries, so barcodes look like imported goods do.
const GS1_PREFIXES: &[u32] = &[
    400, 401, 402, 403, 405, 410, 420, 440, 500, 501, 502, 503, 505, 539, 300, 320, 350, 376, 800,
    805, 840, 870, 871, 760, 590, 690, 693, 750,
];

const FIRST_NAMES: &[&str] = &[
    "Olivia", "Liam", "Amelia", "Noah", "Isla", "Oliver", "Ava", "Elijah", "Mia", "James", "Sofia",
    "Lucas", "Emma", "Mateo", "Chloe", "Leo", "Grace", "Arthur", "Freya", "Henry", "Zara", "Omar",
    "Aisha", "Yusuf", "Priya", "Arjun", "Mei", "Hiro", "Anna", "Jonas", "Lena", "Marco", "Giulia",
    "Pedro", "Ana", "Tomasz", "Zofia", "Kwame", "Ama", "Sean",
];

const LAST_NAMES: &[&str] = &[
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Khan",
    "Wright",
    "Walker",
    "Green",
    "Hall",
    "Wood",
    "Thompson",
    "Clarke",
    "Murphy",
    "Kelly",
    "Müller",
    "Schmidt",
    "Rossi",
    "Bianchi",
    "García",
    "Martínez",
    "Nowak",
    "Kowalski",
    "Mensah",
    "Okafor",
    "Nakamura",
    "Chen",
    "Wang",
    "Singh",
    "Ahmed",
    "Haddad",
    "Dubois",
    "Moreau",
    "Silva",
    "Costa",
    "Jansen",
];

const STREETS: &[&str] = &[
    "High", "Station", "Church", "Park", "Mill", "Victoria", "Green", "Manor", "Kings", "Queens",
    "School", "Bridge", "Market", "North", "West",
];

const TOWNS: &[&str] = &[
    "Leeds", "York", "Bristol", "Bath", "Derby", "Exeter", "Norwich", "Chester", "Durham", "Hull",
];

const UNITS: [(UnitKind, &str); 4] = [
    (UnitKind::Piece, "pcs"),
    (UnitKind::Kilogram, "kg"),
    (UnitKind::Litre, "l"),
    (UnitKind::Pack, "pack"),
];

/// (id, name, rate percent).
const VATS: [(VatClass, &str, i64); 3] = [
    (VatClass::Standard, "Standard 20%", 20),
    (VatClass::Reduced, "Reduced 5%", 5),
    (VatClass::Zero, "Zero 0%", 0),
];

/// (name, is_credit).
const PAYMENT_TYPES: [(&str, bool); 4] = [
    ("Cash", false),
    ("Card", false),
    ("Mobile Money", false),
    ("Store Credit", true),
];

/// (share in percent, party type).
const PARTY_TYPES: [(u64, &str); 5] = [
    (88, "Customer"),
    (4, "Retailer"),
    (3, "Wholesaler"),
    (2, "Dealer"),
    (3, "Supplier"),
];

/// 3^18: coprime to 10^9, so `i * STRIDE mod 10^9` visits every 9-digit number once.
const BARCODE_STRIDE: u64 = 387_420_489;
const NINE_DIGITS: u64 = 1_000_000_000;

/// The check digit of an EAN-13 whose first 12 digits are `first12` (GS1: weights 1 and 3
/// alternating from the left).
pub fn ean13_check_digit(first12: &str) -> Option<u32> {
    if first12.len() != 12 {
        return None;
    }
    let mut sum = 0;
    for (position, c) in first12.chars().enumerate() {
        let digit = c.to_digit(10)?;
        sum += if position % 2 == 0 { digit } else { digit * 3 };
    }
    Some((10 - sum % 10) % 10)
}

/// A 13-digit code whose last digit is its check digit.
pub fn is_valid_ean13(code: &str) -> bool {
    code.len() == 13
        && code.is_ascii()
        && ean13_check_digit(&code[..12])
            .is_some_and(|check| code[12..].parse::<u32>().ok() == Some(check))
}

fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("a valid fixed date")
}

fn cents(value: i64) -> Decimal {
    Decimal::new(value, 2)
}

/// A shelf price: most end in 9.
fn shelf_cents(draw: &mut Draw, (low, high): (i64, i64)) -> i64 {
    let raw = draw.between(low, high);
    if draw.percent(70) {
        (raw - raw % 10 + 9).min(high)
    } else {
        raw
    }
}

/// The seeded catalog. Cheap to create: records are made when asked for.
#[derive(Debug, Clone)]
pub struct Dataset {
    config: DatasetConfig,
}

impl Dataset {
    pub fn new(config: DatasetConfig) -> Dataset {
        Dataset { config }
    }

    pub fn config(&self) -> &DatasetConfig {
        &self.config
    }

    fn stamp(&self, offset_seconds: i64) -> DateTime<Utc> {
        epoch() + Duration::seconds(offset_seconds)
    }

    pub fn settings(&self) -> Settings {
        Settings {
            company_name: "Demo Market".into(),
            currency: Currency {
                code: "EUR".into(),
                symbol: "€".into(),
                minor_units: 2,
            },
            currency_position: CurrencyPosition::Before,
            vat_enabled: true,
            vat_inclusive: true,
            invoice_prefix: "INV-".into(),
            timezone: "Europe/Berlin".into(),
            shifts_required: false,
            max_cashier_discount_percent: Some(Decimal::new(10, 0)),
            version: 1,
            updated_at: epoch(),
        }
    }

    pub fn categories(&self) -> Vec<Category> {
        CATEGORIES
            .iter()
            .enumerate()
            .map(|(i, spec)| Category {
                id: i as i64 + 1,
                business_id: self.config.business_id,
                category_name: spec.name.into(),
                icon: Some(spec.icon.into()),
                status: 1,
                version: 1,
                created_at: epoch(),
                updated_at: epoch(),
                deleted_at: None,
            })
            .collect()
    }

    fn brand_name(index: usize) -> String {
        format!(
            "{} {}",
            BRAND_FIRST[index / BRAND_SECOND.len()],
            BRAND_SECOND[index % BRAND_SECOND.len()]
        )
    }

    pub fn brands(&self) -> Vec<Brand> {
        (0..BRAND_FIRST.len() * BRAND_SECOND.len())
            .map(|i| Brand {
                id: i as i64 + 1,
                business_id: self.config.business_id,
                brand_name: Self::brand_name(i),
                icon: None,
                status: 1,
                version: 1,
                created_at: epoch(),
                updated_at: epoch(),
                deleted_at: None,
            })
            .collect()
    }

    pub fn units(&self) -> Vec<Unit> {
        UNITS
            .iter()
            .enumerate()
            .map(|(i, (_, name))| Unit {
                id: i as i64 + 1,
                business_id: self.config.business_id,
                unit_name: (*name).into(),
                status: 1,
                version: 1,
                created_at: epoch(),
                updated_at: epoch(),
                deleted_at: None,
            })
            .collect()
    }

    pub fn vats(&self) -> Vec<Vat> {
        VATS.iter()
            .enumerate()
            .map(|(i, (_, name, rate))| Vat {
                id: i as i64 + 1,
                business_id: self.config.business_id,
                name: (*name).into(),
                rate: Decimal::new(*rate, 0),
                status: true,
                version: 1,
                created_at: epoch(),
                updated_at: epoch(),
                deleted_at: None,
            })
            .collect()
    }

    pub fn payment_types(&self) -> Vec<PaymentType> {
        PAYMENT_TYPES
            .iter()
            .enumerate()
            .map(|(i, (name, is_credit))| PaymentType {
                id: i as i64 + 1,
                business_id: self.config.business_id,
                name: (*name).into(),
                is_credit: *is_credit,
                status: 1,
                version: 1,
                created_at: epoch(),
                updated_at: epoch(),
                deleted_at: None,
            })
            .collect()
    }

    pub fn warehouses(&self) -> Vec<Warehouse> {
        vec![Warehouse {
            id: 1,
            business_id: self.config.business_id,
            name: "Main Store".into(),
            address: Some("1 Market Square".into()),
            phone: Some("+49 30 1234567".into()),
            version: 1,
            created_at: epoch(),
            updated_at: epoch(),
            deleted_at: None,
        }]
    }

    /// The EAN-13 of product `index`: a GS1 country prefix, nine digits unique to the index
    /// (a bijection of 0..10^9, shifted by the seed), and the check digit.
    pub fn barcode(&self, index: u32) -> String {
        let mut draw = Draw::for_record(self.config.seed, PRODUCT_STREAM, u64::from(index));
        let prefix = draw.pick(GS1_PREFIXES);
        let item =
            (u64::from(index) * BARCODE_STRIDE + self.config.seed % NINE_DIGITS) % NINE_DIGITS;
        let first12 = format!("{prefix:03}{item:09}");
        let check = ean13_check_digit(&first12).expect("twelve digits");
        format!("{first12}{check}")
    }

    /// The product code of product `index`.
    pub fn product_code(index: u32) -> String {
        format!("SKU-{:06}", index + 1)
    }

    /// What product `index` is: category, brand, name, prices.
    fn product_shape(&self, index: u32) -> ProductShape {
        // Drawn after the barcode's prefix, from the same stream.
        let mut draw = Draw::for_record(self.config.seed, PRODUCT_STREAM, u64::from(index));
        draw.next();
        let category_index = draw.below(CATEGORIES.len() as u64) as usize;
        let spec = &CATEGORIES[category_index];
        let brand_index = draw.below((BRAND_FIRST.len() * BRAND_SECOND.len()) as u64) as usize;
        let noun = draw.pick(spec.nouns);
        let size = draw.pick(spec.sizes);
        let descriptor = draw.percent(70).then(|| *draw.pick(DESCRIPTORS));
        let name = match descriptor {
            Some(d) => format!("{} {d} {noun} {size}", Self::brand_name(brand_index)),
            None => format!("{} {noun} {size}", Self::brand_name(brand_index)),
        };
        let sale = shelf_cents(&mut draw, spec.cents);
        let margin = draw.between(60, 80);
        ProductShape {
            category_index,
            brand_index,
            name,
            sale_cents: sale,
            purchase_cents: sale * margin / 100,
        }
    }

    pub fn product(&self, index: u32) -> Product {
        let shape = self.product_shape(index);
        let spec = &CATEGORIES[shape.category_index];
        let stock = self.stock(index);
        let at = self.stamp(i64::from(index));
        Product {
            id: i64::from(index) + 1,
            business_id: self.config.business_id,
            product_name: shape.name,
            product_code: Some(Self::product_code(index)),
            barcode: Some(self.barcode(index)),
            category_id: Some(shape.category_index as i64 + 1),
            brand_id: Some(shape.brand_index as i64 + 1),
            unit_id: Some(unit_id(spec.unit)),
            vat_id: Some(vat_id(spec.vat)),
            vat_type: "inclusive".into(),
            product_type: Some("single".into()),
            product_purchase_price: cents(shape.purchase_cents),
            product_sale_price: cents(shape.sale_cents),
            product_wholesale_price: cents(shape.sale_cents * 92 / 100),
            product_dealer_price: cents(shape.sale_cents * 88 / 100),
            product_stock: stock.product_stock,
            alert_qty: Decimal::new(5, 0),
            version: 1,
            created_at: at,
            updated_at: at,
            deleted_at: None,
        }
    }

    /// The one stock row of product `index` (same id as the product), in the main warehouse.
    pub fn stock(&self, index: u32) -> Stock {
        let shape = self.product_shape(index);
        let spec = &CATEGORIES[shape.category_index];
        let mut draw = Draw::for_record(self.config.seed, STOCK_STREAM, u64::from(index));
        let quantity = if draw.percent(3) {
            Decimal::ZERO
        } else if spec.weighed {
            Decimal::new(draw.between(500, 60_000), 3).normalize()
        } else {
            Decimal::new(draw.between(1, 240), 0)
        };
        let at = self.stamp(i64::from(index));
        Stock {
            id: i64::from(index) + 1,
            business_id: self.config.business_id,
            warehouse_id: Some(1),
            product_id: i64::from(index) + 1,
            variant_id: None,
            batch_no: None,
            product_stock: quantity,
            product_purchase_price: cents(shape.purchase_cents),
            product_sale_price: cents(shape.sale_cents),
            product_wholesale_price: cents(shape.sale_cents * 92 / 100),
            product_dealer_price: cents(shape.sale_cents * 88 / 100),
            mfg_date: None,
            expire_date: None,
            version: 1,
            created_at: at,
            updated_at: at,
            deleted_at: None,
        }
    }

    /// Party `index` (id `index + 1`): mostly walk-in customers with a phone and an email;
    /// a fifth of them owe something.
    pub fn party(&self, index: u32) -> Party {
        let mut draw = Draw::for_record(self.config.seed, PARTY_STREAM, u64::from(index));
        let first = draw.pick(FIRST_NAMES);
        let last = draw.pick(LAST_NAMES);
        let mut roll = draw.below(100);
        let party_type = PARTY_TYPES
            .iter()
            .find(|(share, _)| {
                let hit = roll < *share;
                roll = roll.saturating_sub(*share);
                hit
            })
            .map_or("Customer", |(_, kind)| kind);
        let due = if draw.percent(20) {
            cents(draw.between(1, 50_000))
        } else {
            Decimal::ZERO
        };
        let credit_limit = draw
            .percent(30)
            .then(|| cents(draw.between(50, 2_000) * 100));
        let address = format!(
            "{} {} Street, {}",
            draw.between(1, 250),
            draw.pick(STREETS),
            draw.pick(TOWNS)
        );
        let id = i64::from(index) + 1;
        // Unique per index: the same bijection the barcodes use.
        let phone = (u64::from(index) * BARCODE_STRIDE) % NINE_DIGITS;
        let at = self.stamp(i64::from(index));
        Party {
            id,
            business_id: self.config.business_id,
            name: format!("{first} {last}"),
            email: Some(format!(
                "{}.{}.{id}@example.com",
                first.to_lowercase(),
                last.to_lowercase()
            )),
            phone: Some(format!("+44 7{phone:09}")),
            address: Some(address),
            party_type: party_type.into(),
            due,
            credit_limit,
            opening_balance: Decimal::ZERO,
            status: 1,
            version: 1,
            created_at: at,
            updated_at: at,
            deleted_at: None,
        }
    }

    /// How many records of `kind` the catalog holds.
    pub fn count(&self, kind: EntityKind) -> usize {
        match kind {
            EntityKind::Categories => CATEGORIES.len(),
            EntityKind::Brands => BRAND_FIRST.len() * BRAND_SECOND.len(),
            EntityKind::Units => UNITS.len(),
            EntityKind::Vats => VATS.len(),
            EntityKind::PaymentTypes => PAYMENT_TYPES.len(),
            EntityKind::Warehouses => 1,
            EntityKind::Products | EntityKind::Stocks => self.config.products as usize,
            EntityKind::Parties => self.config.parties as usize,
            // Staff are not part of the generated catalog.
            EntityKind::Cashiers => 0,
        }
    }

    /// Every record of the catalog, settings excluded.
    pub fn total_records(&self) -> usize {
        EntityKind::ALL.iter().map(|k| self.count(*k)).sum()
    }

    /// The sync token every page of the full download carries.
    pub fn sync_token(&self) -> String {
        format!("datagen-{}-{}", self.config.seed, self.config.products)
    }

    /// The full download in pages of at most `page_size` records, entities in dependency
    /// order. The first page also carries the settings and every entity key (empty where its
    /// records come later), so a terminal applying it clears its whole mirror first.
    pub fn full_pages(&self, page_size: usize) -> FullPages<'_> {
        FullPages {
            dataset: self,
            page_size: page_size.max(1),
            kind: 0,
            offset: 0,
            first: true,
            done: false,
            small: Reference::of(self),
        }
    }

    /// How many pages [`Dataset::full_pages`] yields.
    pub fn page_count(&self, page_size: usize) -> usize {
        self.total_records().div_ceil(page_size.max(1)).max(1)
    }

    /// A `changes` answer in which products `first..first + count` changed to `version`:
    /// the price moves by 10 cents a version and every tenth product is renamed, as a day of
    /// price updates looks.
    pub fn changed_products(&self, first: u32, count: u32, version: i64) -> ChangesResponse {
        let last = first
            .saturating_add(count)
            .min(self.config.products)
            .max(first);
        let at = self.stamp(i64::from(self.config.products) + version);
        let updated = (first..last)
            .map(|index| {
                let mut product = self.product(index);
                let step = 10 * (version - 1);
                product.product_sale_price += cents(step);
                product.product_wholesale_price += cents(step);
                product.product_dealer_price += cents(step);
                if index % 10 == 0 {
                    product.product_name = format!("{} (v{version})", product.product_name);
                }
                product.version = version;
                product.updated_at = at;
                product
            })
            .collect::<Vec<_>>();
        let total = updated.len() as u64;
        ChangesResponse {
            success: true,
            data: ChangesData {
                products: Some(ChangeSet {
                    created: Vec::new(),
                    updated,
                    deleted: Vec::new(),
                }),
                ..ChangesData::default()
            },
            sync_token: format!("{}-v{version}", self.sync_token()),
            server_timestamp: at,
            has_more: false,
            total_records: total,
        }
    }
}

struct ProductShape {
    category_index: usize,
    brand_index: usize,
    name: String,
    sale_cents: i64,
    purchase_cents: i64,
}

fn unit_id(kind: UnitKind) -> i64 {
    UNITS
        .iter()
        .position(|(k, _)| *k == kind)
        .expect("every unit kind is listed") as i64
        + 1
}

fn vat_id(class: VatClass) -> i64 {
    VATS.iter()
        .position(|(c, _, _)| std::mem::discriminant(c) == std::mem::discriminant(&class))
        .expect("every VAT class is listed") as i64
        + 1
}

/// The small reference entities, made once per download.
struct Reference {
    categories: Vec<Category>,
    brands: Vec<Brand>,
    units: Vec<Unit>,
    vats: Vec<Vat>,
    payment_types: Vec<PaymentType>,
    warehouses: Vec<Warehouse>,
}

impl Reference {
    fn of(dataset: &Dataset) -> Reference {
        Reference {
            categories: dataset.categories(),
            brands: dataset.brands(),
            units: dataset.units(),
            vats: dataset.vats(),
            payment_types: dataset.payment_types(),
            warehouses: dataset.warehouses(),
        }
    }
}

/// The pages of a full download; see [`Dataset::full_pages`].
pub struct FullPages<'a> {
    dataset: &'a Dataset,
    page_size: usize,
    /// Position in `EntityKind::ALL` and within that entity.
    kind: usize,
    offset: usize,
    first: bool,
    done: bool,
    small: Reference,
}

fn push<T>(slot: &mut Option<Vec<T>>, record: T) {
    slot.get_or_insert_with(Vec::new).push(record);
}

impl FullPages<'_> {
    fn push_record(&self, data: &mut FullData, kind: EntityKind, offset: usize) {
        let index = offset as u32;
        match kind {
            EntityKind::Categories => {
                push(&mut data.categories, self.small.categories[offset].clone())
            }
            EntityKind::Brands => push(&mut data.brands, self.small.brands[offset].clone()),
            EntityKind::Units => push(&mut data.units, self.small.units[offset].clone()),
            EntityKind::Vats => push(&mut data.vats, self.small.vats[offset].clone()),
            EntityKind::PaymentTypes => push(
                &mut data.payment_types,
                self.small.payment_types[offset].clone(),
            ),
            EntityKind::Warehouses => {
                push(&mut data.warehouses, self.small.warehouses[offset].clone())
            }
            EntityKind::Products => push(&mut data.products, self.dataset.product(index)),
            EntityKind::Stocks => push(&mut data.stocks, self.dataset.stock(index)),
            EntityKind::Parties => push(&mut data.parties, self.dataset.party(index)),
            EntityKind::Cashiers => {}
        }
    }
}

impl Iterator for FullPages<'_> {
    type Item = FullResponse;

    fn next(&mut self) -> Option<FullResponse> {
        if self.done {
            return None;
        }
        let mut data = FullData::default();
        if self.first {
            data = FullData {
                categories: Some(Vec::new()),
                brands: Some(Vec::new()),
                units: Some(Vec::new()),
                vats: Some(Vec::new()),
                payment_types: Some(Vec::new()),
                warehouses: Some(Vec::new()),
                products: Some(Vec::new()),
                stocks: Some(Vec::new()),
                parties: Some(Vec::new()),
                cashiers: Some(Vec::new()),
                settings: Some(self.dataset.settings()),
            };
        }
        let mut taken = 0;
        while taken < self.page_size && self.kind < EntityKind::ALL.len() {
            let kind = EntityKind::ALL[self.kind];
            if self.offset >= self.dataset.count(kind) {
                self.kind += 1;
                self.offset = 0;
                continue;
            }
            self.push_record(&mut data, kind, self.offset);
            self.offset += 1;
            taken += 1;
        }
        // Skip past exhausted entities so `has_more` is exact.
        while self.kind < EntityKind::ALL.len()
            && self.offset >= self.dataset.count(EntityKind::ALL[self.kind])
        {
            self.kind += 1;
            self.offset = 0;
        }
        let has_more = self.kind < EntityKind::ALL.len();
        self.first = false;
        self.done = !has_more;
        Some(FullResponse {
            success: true,
            data,
            sync_token: self.dataset.sync_token(),
            server_timestamp: epoch(),
            has_more,
            next_cursor: has_more
                .then(|| format!("{}:{}", EntityKind::ALL[self.kind].as_str(), self.offset)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ean13_check_digits() {
        // Printed on real packs.
        assert_eq!(ean13_check_digit("400638133393"), Some(1));
        assert_eq!(ean13_check_digit("500011263792"), Some(2));
        assert!(is_valid_ean13("4006381333931"));
        assert!(!is_valid_ean13("4006381333932"));
        assert!(!is_valid_ean13("400638133393"));
        assert!(!is_valid_ean13("40063813339x1"));
    }

    #[test]
    fn random_streams_differ_by_kind_and_index() {
        let a = Draw::for_record(1, PRODUCT_STREAM, 0).next();
        let b = Draw::for_record(1, PRODUCT_STREAM, 1).next();
        let c = Draw::for_record(1, STOCK_STREAM, 0).next();
        assert!(a != b && a != c && b != c);
    }
}
