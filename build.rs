//! Embeds the admin UI's committed build (`ui/dist`, written by `scripts/ui-build`) into the
//! binary, so `serve` needs no Node and no files beside it. Generates the table `src/ui.rs`
//! serves: every file, with its gzipped copy when the build made one.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let dist = root.join("ui").join("dist");
    // A directory here makes cargo rerun when any file under it changes.
    println!("cargo:rerun-if-changed=ui/dist");
    let mut files = Vec::new();
    collect(&dist, &mut files);
    files.sort();
    let mut table = String::from("&[\n");
    for file in files
        .iter()
        .filter(|f| f.extension().is_none_or(|e| e != "gz"))
    {
        let path = relative(&dist, file);
        let gzipped = PathBuf::from(format!("{}.gz", file.display()));
        let gzip = match gzipped.is_file() {
            true => format!("Some(include_bytes!({:?}))", gzipped.display().to_string()),
            false => "None".to_owned(),
        };
        let _ = writeln!(
            table,
            "    Asset {{ path: {path:?}, body: include_bytes!({:?}), gzip: {gzip} }},",
            file.display().to_string()
        );
    }
    table.push(']');
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    std::fs::write(out.join("ui_assets.rs"), table).expect("OUT_DIR is writable");
}

/// Every file under `dir`; none when the UI was never built (the server says so at `/ui/`).
fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match path.is_dir() {
            true => collect(&path, files),
            false => files.push(path),
        }
    }
}

/// `assets/index-abc.js`, with `/` whatever the platform.
fn relative(dist: &Path, file: &Path) -> String {
    let rest = file.strip_prefix(dist).expect("collected under dist");
    let parts: Vec<String> = rest
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}
