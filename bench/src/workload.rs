//! What the benchmarks ask of a till, the same for the engine and its raw baseline: which
//! products a basket holds, which barcodes are scanned, which name prefixes are typed.

use crate::dataset::Dataset;

/// Lines of the benchmarked sale.
pub const BASKET_LINES: usize = 5;

/// Rows a search asks for (what the selling screen shows).
pub const SEARCH_LIMIT: u32 = 20;

/// Products a `changes` page carries in the pull benchmark (the protocol's default page).
pub const PULL_PAGE_PRODUCTS: u32 = pos_protocol::sync::DEFAULT_PAGE_SIZE;

/// A typed search and the FTS5 expression that asks the same of a plain FTS5 table.
#[derive(Debug, Clone, Copy)]
pub struct SearchCase {
    pub text: &'static str,
    pub fts: &'static str,
}

/// Typical cashier input, from the broadest (two letters match about one product in ten) to
/// a narrow three-word one.
pub const SEARCH_CASES: [SearchCase; 4] = [
    SearchCase {
        text: "co",
        fts: "\"co\"*",
    },
    SearchCase {
        text: "choc",
        fts: "\"choc\"*",
    },
    SearchCase {
        text: "org mil",
        fts: "\"org\"* AND \"mil\"*",
    },
    SearchCase {
        text: "golden valley ju",
        fts: "\"golden\"* AND \"valley\"* AND \"ju\"*",
    },
];

/// Spreads `n` over `0..size` so consecutive steps land far apart in the catalog.
fn spread(n: u64, salt: u64, size: u32) -> u32 {
    (n.wrapping_mul(2_654_435_761)
        .wrapping_add(salt.wrapping_mul(40_503))
        % u64::from(size)) as u32
}

/// The product indices of basket `n`: five different products.
pub fn basket(dataset: &Dataset, n: u64) -> [u32; BASKET_LINES] {
    let size = dataset.config().products;
    assert!(
        size as usize >= BASKET_LINES,
        "a basket needs at least {BASKET_LINES} products"
    );
    let mut lines = [0u32; BASKET_LINES];
    let mut salt = 0;
    for slot in 0..BASKET_LINES {
        loop {
            let candidate = spread(n * BASKET_LINES as u64 + slot as u64, salt, size);
            salt += 1;
            if !lines[..slot].contains(&candidate) {
                lines[slot] = candidate;
                break;
            }
        }
    }
    lines
}

/// The barcode scanned at step `n`.
pub fn scanned_barcode(dataset: &Dataset, n: u64) -> String {
    dataset.barcode(spread(n, 7, dataset.config().products))
}

/// The first product of pull page `n`: pages walk through the catalog.
pub fn pull_page_start(dataset: &Dataset, n: u64) -> u32 {
    let products = u64::from(dataset.config().products);
    ((n * u64::from(PULL_PAGE_PRODUCTS)) % products.max(1)) as u32
}
