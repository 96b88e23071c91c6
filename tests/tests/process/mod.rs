//! Running the real `hub` binary as a process in tests (shared by the migration and replica tests).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds the `hub` binary (`cargo build -p hub`) and returns its path.
pub fn hub_binary() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(cargo);
    build.args(["build", "-p", "hub"]).current_dir(&workspace);
    // Cargo sets these for the test process; build scripts (ring's) watch some of them, so passing
    // them on would make every build rebuild ring and this crate's own next build rebuild it back.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        let per_crate = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_", "CARGO_CFG_"];
        if per_crate.iter().any(|p| k.starts_with(p))
            || matches!(
                k.as_str(),
                "OUT_DIR" | "CARGO_PRIMARY_PACKAGE" | "CARGO_TARGET_TMPDIR" | "CARGO_RUSTC_CURRENT_DIR"
            )
        {
            build.env_remove(k);
        }
    }
    let status = build.status().expect("running cargo build -p hub");
    assert!(status.success(), "cargo build -p hub failed");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace.join("target"), PathBuf::from);
    let bin = target.join("debug").join(if cfg!(windows) { "hub.exe" } else { "hub" });
    assert!(bin.exists(), "{} missing after the build", bin.display());
    bin
}

/// `hub ARGS` with a clean `HUB_*` environment (nothing of the caller's configuration leaks in).
pub fn hub_command(bin: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(args);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("HUB_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HUB_LOG", "warn");
    cmd
}
