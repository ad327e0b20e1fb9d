//! A till database that fails its integrity check is moved aside at the next start AND stays
//! readable: `pos-terminal rescue export --from FILE OUT` exports its unsynced work.
//! Run under `engine/scripts/with-keyring.sh`.

mod common;

use common::*;
use pos_engine::{EngineConfig, ErrorCode};
use std::path::Path;
use std::process::{Command, Output};

fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pos-terminal"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("POS_TERMINAL_SERVER")
        .output()
        .unwrap()
}

fn succeeded(what: &str, output: &Output) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn operations(rescue_file: &Path) -> (String, Vec<String>) {
    let rescue: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rescue_file).unwrap()).unwrap();
    let keys = rescue["content"]["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["idempotency_key"].as_str().unwrap().to_string())
        .collect();
    (
        rescue["content"]["device_id"].as_str().unwrap().to_string(),
        keys,
    )
}

/// Overwrites the root page of an index of the catalog mirror with garbage: the integrity
/// check fails, while the queue (`outbox`, read in rowid order) is untouched.
fn damage_an_index(database: &Path) {
    let (page_size, root_page) = {
        let conn = rusqlite::Connection::open(database).unwrap();
        let page_size: u64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        let root_page: u64 = conn
            .query_row(
                "SELECT rootpage FROM sqlite_master
                 WHERE type = 'index' AND tbl_name = 'products' AND sql IS NOT NULL
                 ORDER BY name LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        (page_size, root_page)
    };
    let mut bytes = std::fs::read(database).unwrap();
    let start = ((root_page - 1) * page_size) as usize;
    bytes[start..start + page_size as usize].fill(0xA5);
    std::fs::write(database, bytes).unwrap();
}

#[test]
fn a_damaged_database_is_moved_aside_and_its_unsynced_sales_still_export() {
    let dir = tempfile::tempdir().unwrap();
    drop(seeded(dir.path()));
    succeeded("sell", &cli(dir.path(), &["sell", "--item", "COLA0:2"]));
    succeeded("sell", &cli(dir.path(), &["sell", "--item", "OJ1:1"]));
    let before = dir.path().join("before.json");
    succeeded(
        "rescue export",
        &cli(dir.path(), &["rescue", "export", before.to_str().unwrap()]),
    );
    let (device_id, queued) = operations(&before);
    assert_eq!(queued.len(), 2);

    damage_an_index(&dir.path().join("pos-terminal.db"));
    let refused = pos_engine::Engine::open(EngineConfig::new(dir.path()))
        .err()
        .unwrap();
    assert_eq!(
        refused.code,
        ErrorCode::DatabaseCorrupt,
        "{}",
        refused.message
    );
    let moved: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("pos-terminal.db.damaged-")
        })
        .filter(|p| {
            !p.to_string_lossy().ends_with("-wal") && !p.to_string_lossy().ends_with("-shm")
        })
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(refused.message.contains(&moved[0].display().to_string()));
    let damaged_bytes = std::fs::read(&moved[0]).unwrap();

    let after = dir.path().join("after.json");
    let exported = cli(
        dir.path(),
        &[
            "rescue",
            "export",
            "--from",
            moved[0].to_str().unwrap(),
            after.to_str().unwrap(),
        ],
    );
    succeeded("rescue export --from the damaged file", &exported);
    assert_eq!(
        operations(&after),
        (device_id, queued),
        "the same unsynced work, under the same device"
    );
    assert_eq!(
        std::fs::read(&moved[0]).unwrap(),
        damaged_bytes,
        "the damaged file is only read"
    );

    let missing = cli(
        dir.path(),
        &[
            "rescue",
            "export",
            "--from",
            "no-such.db",
            after.to_str().unwrap(),
        ],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("from: "));
}
