//! The till's Windows build, run under Wine against the real server on loopback: the
//! cross-built `pos-terminal.exe` goes through the whole CLI scenario of
//! [`windows::cli_scenario`] (sign-in with the token in the Windows Credential Manager, a shift,
//! an offline sale printed on a network printer, a second till process refused, a rescue
//! export, sync, a return, the shift's close) in `%LOCALAPPDATA%\pos-terminal` of a Windows
//! user named with a space and non-ASCII letters.

mod windows;

use std::time::Instant;

use windows::{
    cli_scenario, cross_built_terminal, token_lives_only_in_the_credential_manager, Shop,
    WinePrefix,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cross_built_till_runs_the_cli_scenario_under_wine() {
    let started = Instant::now();
    let exe = cross_built_terminal();
    let wine = WinePrefix::create();
    let mut shop = Shop::open().await;
    cli_scenario(&wine, &exe, &mut shop).await;
    token_lives_only_in_the_credential_manager(&wine, &exe);
    eprintln!(
        "windows: cross build, Wine prefix and the CLI scenario took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
