use std::path::Path;

fn main() {
    // The app embeds the built UI (`frontendDist`). A plain `cargo build` or `cargo clippy` on a
    // fresh checkout has not built it yet; a page saying so keeps the workspace compiling.
    // `tauri build` / `tauri dev` and scripts/e2e-app.sh build the real UI first.
    let index = Path::new("../ui/dist/index.html");
    if !index.exists() {
        println!("cargo:warning=ui/dist is not built: the app will show a placeholder page (cd ui && npm ci && npm run build)");
        std::fs::create_dir_all("../ui/dist").expect("create ui/dist");
        std::fs::write(
            index,
            "<!doctype html><meta charset=utf-8><title>POS Terminal</title>\
             <p>The cashier screens are not built. Run <code>npm ci &amp;&amp; npm run build</code> in <code>ui/</code>, then build the app again.</p>",
        )
        .expect("write the placeholder ui/dist/index.html");
    }
    println!("cargo:rerun-if-changed=../ui/dist");
    tauri_build::build();
}
