//! Writes the seeded catalog as the pages of a full download, one `FullResponse` JSON file per
//! page (`full-0001.json`, …), and `manifest.json` saying what was made. The demo and the
//! server's load generator read these; the same flags always give the same bytes.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use pos_bench::dataset::{Dataset, DatasetConfig};
use pos_protocol::entities::EntityKind;

#[derive(Parser)]
#[command(
    name = "pos-datagen",
    about = "Write a seeded catalog as full-download pages (JSON)"
)]
struct Args {
    /// Folder to write the pages to (created if missing; existing page files are replaced).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = DatasetConfig::default().products)]
    products: u32,
    #[arg(long, default_value_t = DatasetConfig::default().parties)]
    parties: u32,
    #[arg(long, default_value_t = DatasetConfig::default().seed)]
    seed: u64,
    #[arg(long, default_value_t = DatasetConfig::default().business_id)]
    business_id: i64,
    /// Records per page (the protocol's default page size).
    #[arg(long, default_value_t = pos_protocol::sync::DEFAULT_PAGE_SIZE as usize)]
    page_size: usize,
}

fn main() -> Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.page_size > 0, "--page-size: must be at least 1");
    let dataset = Dataset::new(DatasetConfig {
        seed: args.seed,
        products: args.products,
        parties: args.parties,
        business_id: args.business_id,
    });
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut pages = 0usize;
    for page in dataset.full_pages(args.page_size) {
        pages += 1;
        let path = args.out.join(format!("full-{pages:04}.json"));
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?,
        );
        serde_json::to_writer(&mut file, &page)?;
        file.flush()?;
    }
    let counts: serde_json::Map<String, serde_json::Value> = EntityKind::ALL
        .iter()
        .map(|k| (k.as_str().to_string(), dataset.count(*k).into()))
        .collect();
    let manifest = serde_json::json!({
        "seed": args.seed,
        "business_id": args.business_id,
        "page_size": args.page_size,
        "pages": pages,
        "files": format!("full-0001.json … full-{pages:04}.json"),
        "sync_token": dataset.sync_token(),
        "records": counts,
    });
    std::fs::write(
        args.out.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)?,
    )?;
    println!(
        "{pages} pages, {} records, in {}",
        dataset.total_records(),
        args.out.display()
    );
    Ok(())
}
