//! The till's MSI (built on Linux by `scripts/package-windows.sh` with wixl) inspected with
//! `msiinfo`, then installed under Wine: the installed `pos-terminal.exe` runs the CLI scenario;
//! installing version N+1 over N upgrades in place and an unsynced sale of N arrives once after
//! N+1 syncs; uninstalling leaves the data folder and its unsynced sales, which a reinstall
//! syncs.
//!
//! Run by `bash scripts/package-windows.sh --test`, which builds the two MSIs and passes them as
//! `POS_WINDOWS_MSI` (version N) and `POS_WINDOWS_MSI_NEXT` (N+1). Building the release app
//! for them does not fit the CI budget of the README's test command (see the README).

mod windows;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use windows::{cli_scenario, json, ok, sell_offline, status, Shop, WinePrefix};

const INSTALL_DIR: &str = "Program Files/POS Terminal";

fn msi(variable: &str) -> PathBuf {
    let path = PathBuf::from(std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable} is not set: run bash scripts/package-windows.sh --test")
    }));
    assert!(
        path.is_file(),
        "{variable}: {} is not a file",
        path.display()
    );
    path
}

/// One table of the MSI as rows of column name → value.
fn table(msi: &Path, name: &str) -> Vec<BTreeMap<String, String>> {
    let text = ok(
        &format!("msiinfo export {name}"),
        Command::new("msiinfo").arg("export").arg(msi).arg(name),
    );
    let mut lines = text.lines();
    let columns: Vec<&str> = lines.next().expect("a header").split('\t').collect();
    // The second line holds the column types, the third the table's name and keys.
    lines
        .skip(2)
        .map(|line| {
            columns
                .iter()
                .zip(line.split('\t').chain(std::iter::repeat("")))
                .map(|(c, v)| (c.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn property(msi: &Path, name: &str) -> String {
    table(msi, "Property")
        .into_iter()
        .find(|row| row["Property"] == name)
        .map(|row| row["Value"].clone())
        .unwrap_or_else(|| panic!("no property {name}"))
}

fn tauri_conf() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tauri.conf.json");
    json(&std::fs::read_to_string(path).unwrap())
}

fn msiexec(wine: &WinePrefix, action: &str, msi: &Path) {
    ok(
        &format!("msiexec {action} {}", msi.display()),
        wine.wine_command("wine")
            .args(["msiexec", action])
            .arg(WinePrefix::windows_path(msi))
            .arg("/qn"),
    );
}

/// DisplayVersion of every installed product named POS Terminal.
fn installed_versions(wine: &WinePrefix) -> Vec<String> {
    let listing = ok(
        "reg query of the installed programs",
        wine.wine_command("wine").args([
            "reg",
            "query",
            r"HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall",
            "/s",
        ]),
    );
    let mut versions = Vec::new();
    let mut ours = false;
    for line in listing.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with("HKEY_") {
            ours = false;
        } else if words.first() == Some(&"DisplayName") {
            ours = line.contains("POS Terminal");
        } else if ours && words.first() == Some(&"DisplayVersion") {
            versions.push(words.last().unwrap().to_string());
        }
    }
    versions
}

#[test]
#[ignore = "needs the MSIs: bash scripts/package-windows.sh --test"]
fn the_msi_names_the_product_and_installs_per_machine_with_a_start_menu_shortcut() {
    let msi = msi("POS_WINDOWS_MSI");
    let conf = tauri_conf();
    assert_eq!(property(&msi, "ProductName"), conf["productName"]);
    assert_eq!(property(&msi, "ProductVersion"), conf["version"]);
    assert_eq!(
        property(&msi, "UpgradeCode").to_lowercase(),
        format!(
            "{{{}}}",
            conf["bundle"]["windows"]["wix"]["upgradeCode"]
                .as_str()
                .unwrap()
        ),
        "the same upgrade code as Tauri's MSI"
    );
    assert_eq!(property(&msi, "ALLUSERS"), "1", "installed per machine");

    let directories = table(&msi, "Directory");
    let install_dir = directories
        .iter()
        .find(|d| d["Directory"] == "INSTALLDIR")
        .expect("an INSTALLDIR");
    assert_eq!(install_dir["Directory_Parent"], "ProgramFiles64Folder");
    assert_eq!(install_dir["DefaultDir"], "POS Terminal");

    let files: Vec<String> = table(&msi, "File")
        .into_iter()
        .map(|f| f["FileName"].clone())
        .collect();
    for exe in ["pos-terminal-app.exe", "pos-terminal.exe"] {
        assert!(files.contains(&exe.to_string()), "{exe} in {files:?}");
    }

    let shortcuts = table(&msi, "Shortcut");
    let shortcut = shortcuts
        .iter()
        .find(|s| s["Target"] == "[INSTALLDIR]pos-terminal-app.exe")
        .expect("a shortcut to the app");
    let folder = directories
        .iter()
        .find(|d| d["Directory"] == shortcut["Directory_"])
        .expect("the shortcut's folder");
    assert_eq!(
        folder["Directory_Parent"], "ProgramMenuFolder",
        "in the Start menu"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the MSIs: bash scripts/package-windows.sh --test"]
async fn the_installed_till_runs_upgrades_in_place_and_uninstalls_without_losing_a_sale() {
    let (first, next) = (msi("POS_WINDOWS_MSI"), msi("POS_WINDOWS_MSI_NEXT"));
    let version = tauri_conf()["version"].as_str().unwrap().to_string();
    let next_version = property(&next, "ProductVersion");
    assert_ne!(version, next_version);
    let started = Instant::now();
    let wine = WinePrefix::create();
    let mut shop = Shop::open().await;
    let scratch = tempfile::tempdir().unwrap();
    let installed = wine.drive_c().join(INSTALL_DIR);
    let exe = installed.join("pos-terminal.exe");

    msiexec(&wine, "/i", &first);
    assert!(exe.is_file() && installed.join("pos-terminal-app.exe").is_file());
    assert_eq!(installed_versions(&wine), std::slice::from_ref(&version));
    cli_scenario(&wine, &exe, &mut shop).await;

    // N sells offline; N+1 is installed over it, in place, and syncs the sale once.
    let (_, reference) = sell_offline(&wine, &exe, &mut shop, scratch.path());
    msiexec(&wine, "/i", &next);
    assert_eq!(
        installed_versions(&wine),
        std::slice::from_ref(&next_version),
        "one product, upgraded"
    );
    assert_eq!(
        status(&wine, &exe)["pending"],
        1,
        "the queue survived the upgrade"
    );
    shop.server.restart().await;
    ok("sync on N+1", wine.till(&exe).arg("sync"));
    assert_eq!(shop.sales_with_reference(&reference).await, 1);

    // An unsynced sale, then an uninstall: the data folder stays with the sale in it.
    let (_, reference) = sell_offline(&wine, &exe, &mut shop, scratch.path());
    msiexec(&wine, "/x", &next);
    assert!(!exe.exists(), "the program is gone");
    assert!(installed_versions(&wine).is_empty());
    let database = wine.till_data_dir().join("pos-terminal.db");
    assert!(database.is_file(), "the data folder is kept");
    msiexec(&wine, "/i", &next);
    assert_eq!(
        status(&wine, &exe)["pending"],
        1,
        "the unsynced sale is still there"
    );
    shop.server.restart().await;
    ok("sync after a reinstall", wine.till(&exe).arg("sync"));
    assert_eq!(shop.sales_with_reference(&reference).await, 1);
    eprintln!(
        "windows: install, scenario, upgrade and uninstall under Wine took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
