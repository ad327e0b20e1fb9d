//! `pos-server backup FILE` and `pos-server restore FILE`: a consistent copy of the database
//! while the server keeps serving, and putting one back into an empty database.
//!
//! SQLite: `VACUUM INTO` writes a consistent, compacted copy from one read transaction, so
//! writers carry on; the copy is itself a SQLite database file, and restoring puts it in
//! place of an absent or empty database file. PostgreSQL: the operator's usual tools,
//! `pg_dump --format=custom` (one snapshot, taken without blocking writers) and `pg_restore`
//! in a single transaction, so the file is also usable without this program. Either way the
//! copy holds every table, including the change cursor, the invoice counters and the
//! idempotency keys, so terminals continue against the restored server without resending or
//! duplicating anything.

use std::path::Path;
use std::str::FromStr;

use anyhow::{bail, ensure, Context};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Writes a consistent copy of the database at `database_url` to `file` (which must not
/// exist yet).
pub async fn backup(database_url: &str, file: &Path) -> anyhow::Result<()> {
    ensure!(
        !file.exists(),
        "{} already exists; a backup never overwrites a file",
        file.display()
    );
    if is_postgres(database_url) {
        run(
            std::process::Command::new("pg_dump")
                .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
                .arg(file)
                .arg("--dbname")
                .arg(database_url),
            "pg_dump",
        )
    } else {
        let mut conn = SqliteConnectOptions::from_str(database_url)?
            .connect()
            .await
            .with_context(|| format!("cannot open {database_url}"))?;
        let target = file
            .to_str()
            .context("the backup file name must be valid UTF-8")?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&mut conn)
            .await
            .with_context(|| format!("cannot write {}", file.display()))?;
        conn.close().await?;
        Ok(())
    }
}

/// Restores `file` (made by [`backup`]) into the database at `database_url`, which must be
/// empty: a restore never mixes two databases' rows.
pub async fn restore(database_url: &str, file: &Path) -> anyhow::Result<()> {
    ensure!(file.is_file(), "{} is not a file", file.display());
    if is_postgres(database_url) {
        let mut conn = sqlx::PgConnection::connect(database_url)
            .await
            .with_context(|| format!("cannot open {database_url}"))?;
        let tables: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_one(&mut conn)
        .await?;
        conn.close().await?;
        ensure!(
            tables == 0,
            "the target database is not empty ({tables} tables); restore into a new database"
        );
        run(
            std::process::Command::new("pg_restore")
                .args([
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    "--dbname",
                ])
                .arg(database_url)
                .arg(file),
            "pg_restore",
        )
    } else {
        restore_sqlite(database_url, file).await
    }
}

async fn restore_sqlite(database_url: &str, file: &Path) -> anyhow::Result<()> {
    let options = SqliteConnectOptions::from_str(database_url)?;
    let target = options.get_filename().to_path_buf();
    if target.as_os_str().is_empty() || target.to_string_lossy() == ":memory:" {
        bail!("restore needs a database file, not {database_url}");
    }
    // The copy must be a database of ours before it replaces anything.
    let mut copy = SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .connect()
        .await
        .with_context(|| format!("{} is not a SQLite database", file.display()))?;
    let migrations: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut copy)
    .await
    .with_context(|| format!("{} is not a SQLite database", file.display()))?;
    copy.close().await?;
    ensure!(
        migrations == 1,
        "{} is not a pos-server backup",
        file.display()
    );
    if target.exists() {
        let mut conn = options.clone().connect().await?;
        let tables: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")
                .fetch_one(&mut conn)
                .await?;
        conn.close().await?;
        ensure!(
            tables == 0,
            "{} is not empty ({tables} tables); restore into a new database file",
            target.display()
        );
    }
    // Copied beside the target, then renamed over it: never a half-written database.
    let name = target
        .file_name()
        .context("the database path names no file")?
        .to_string_lossy()
        .into_owned();
    let partial = target.with_file_name(format!(".{name}.restoring"));
    std::fs::copy(file, &partial)
        .and_then(|_| std::fs::File::open(&partial)?.sync_all())
        .and_then(|()| std::fs::rename(&partial, &target))
        .map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            anyhow::anyhow!("cannot write {}: {e}", target.display())
        })?;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", target.display()));
    }
    Ok(())
}

fn run(command: &mut std::process::Command, name: &str) -> anyhow::Result<()> {
    let output = command.output().with_context(|| {
        format!("cannot run {name}: install the PostgreSQL client tools (e.g. postgresql-client)")
    })?;
    ensure!(
        output.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(())
}
