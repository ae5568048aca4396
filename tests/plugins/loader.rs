//! Every way a plugin file can be wrong ends in a refusal naming the file and the reason.

use connector_core::host::{LoadProblem, Plugin, Registry};

use crate::support::{PluginDir, built_library, set_mode};

fn refusal(path: &std::path::Path) -> String {
    let error = Plugin::load(path).expect_err("the loader must refuse this file");
    let line = error.to_string();
    assert!(
        line.contains(&path.display().to_string()),
        "names the file: {line}"
    );
    assert!(!line.contains('\n'), "one line: {line}");
    line
}

#[test]
fn wrong_magic_is_refused() {
    let dir = PluginDir::new();
    let line = refusal(&dir.compile_c(Some("BROKEN_MAGIC")));
    assert!(line.contains("expected magic 0x494e5648504c5547"), "{line}");
}

#[test]
fn wrong_abi_major_is_refused_with_both_versions() {
    let dir = PluginDir::new();
    let line = refusal(&dir.compile_c(Some("BROKEN_MAJOR")));
    assert!(
        line.contains("built for plugin ABI v2, but this host speaks ABI v1"),
        "{line}"
    );
}

#[test]
fn descriptor_smaller_than_v1_is_refused() {
    let dir = PluginDir::new();
    let line = refusal(&dir.compile_c(Some("BROKEN_SIZE")));
    assert!(
        line.contains("descriptor size 8 is smaller than the 56 bytes of ABI v1"),
        "{line}"
    );
}

#[test]
fn missing_entry_symbol_is_refused() {
    let dir = PluginDir::new();
    let line = refusal(&dir.compile_c(Some("NO_ENTRY")));
    assert!(
        line.contains("does not export the symbol 'invhost_connector_plugin_v1'"),
        "{line}"
    );
}

#[test]
fn entry_of_another_major_is_named() {
    let dir = PluginDir::new();
    let line = refusal(&dir.compile_c(Some("ENTRY_V2")));
    assert!(
        line.contains("it exports invhost_connector_plugin_v2 but this host speaks ABI v1"),
        "{line}"
    );
}

#[test]
fn truncated_library_is_refused() {
    let dir = PluginDir::new();
    let good = std::fs::read(built_library("fixture-plugin")).unwrap();
    let path = dir.write("libtruncated.so", &good[..4096]);
    let line = refusal(&path);
    assert!(line.contains("not a loadable library"), "{line}");
}

#[test]
fn text_file_is_refused() {
    let dir = PluginDir::new();
    let path = dir.write(
        "libnotes.so",
        b"these are not the bytes you are looking for\n",
    );
    let line = refusal(&path);
    assert!(line.contains("not a loadable library"), "{line}");
}

#[test]
fn group_or_other_writable_file_is_refused_before_loading() {
    let dir = PluginDir::new();
    let path = dir.install(&built_library("fixture-plugin"), "libfixture_plugin.so");
    for mode in [0o775, 0o757, 0o666] {
        set_mode(&path, mode);
        let error = Plugin::load(&path).unwrap_err();
        assert!(
            matches!(error.problem, LoadProblem::Writable { .. }),
            "{error}"
        );
        assert!(
            error.to_string().contains("writable by group or others"),
            "{error}"
        );
    }
    set_mode(&path, 0o755);
    Plugin::load(&path).expect("owner-writable only is fine");
}

/// True when this process may give files away (root); CI runs as root, so
/// there these tests always run.
fn may_chown() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    if !root {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs the suite as root: these tests give files to another user"
        );
        eprintln!("skipped: giving a file to another user needs root");
    }
    root
}

const NOBODY: u32 = 65534;

#[test]
fn a_plugin_someone_else_could_replace_is_refused() {
    if !may_chown() {
        return;
    }
    // A file of another user, though no one else may write it.
    let dir = PluginDir::new();
    let path = dir.install(&built_library("fixture-plugin"), "libfixture_plugin.so");
    set_mode(&path, 0o755);
    std::os::unix::fs::chown(&path, Some(NOBODY), None).unwrap();
    let line = refusal(&path);
    assert!(line.contains("owned by uid 65534"), "{line}");
    std::os::unix::fs::chown(&path, Some(0), None).unwrap();
    Plugin::load(&path).expect("root's own file in root's own directory loads");

    // A directory of another user, or one a group may write.
    let dir = PluginDir::new();
    let path = dir.install(&built_library("fixture-plugin"), "libfixture_plugin.so");
    std::os::unix::fs::chown(dir.path(), Some(NOBODY), None).unwrap();
    let line = refusal(&path);
    assert!(
        line.contains(&format!("{} is owned by uid 65534", dir.path().display())),
        "{line}"
    );
    std::os::unix::fs::chown(dir.path(), Some(0), None).unwrap();
    set_mode(dir.path(), 0o775);
    let error = Plugin::load(&path).unwrap_err();
    assert!(
        matches!(error.problem, LoadProblem::Untrusted { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("writable by group or others (mode 775)"),
        "{error}"
    );

    // A symbolic link is judged by what it points to.
    let trusted = PluginDir::new();
    let link = trusted.path().join("liblinked.so");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let error = Plugin::load(&link).unwrap_err();
    assert!(
        error
            .to_string()
            .contains(&format!("{} is writable by group", dir.path().display())),
        "{error}"
    );
    set_mode(dir.path(), 0o755);
    Plugin::load(&link).expect("a link to a trusted file loads");
}

#[test]
fn garbage_metadata_is_refused() {
    let dir = PluginDir::new();
    let line = refusal(&dir.compile_c(Some("DESCRIBE_GARBAGE")));
    assert!(line.contains("unusable plugin metadata"), "{line}");
}

#[test]
fn registry_keeps_the_good_plugins_and_lists_the_refused() {
    let dir = PluginDir::new();
    dir.install(&built_library("fixture-plugin"), "libfixture_plugin.so");
    dir.compile_c(None);
    dir.compile_c(Some("BROKEN_MAJOR"));
    dir.write("libjunk.so", b"junk");
    dir.write("README.txt", b"not a library name, never opened");
    let registry = Registry::load(&[dir.path().to_path_buf()]);
    assert!(registry.connector("fixture-flood").is_some());
    assert!(registry.connector("c-demo").is_some());
    let problems: Vec<String> = registry
        .problems()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("libc_broken_major.so") && p.contains("ABI v2"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("libjunk.so") && p.contains("not a loadable library"))
    );
}

#[test]
fn the_same_type_twice_is_refused_the_second_time() {
    let dir = PluginDir::new();
    dir.install(&built_library("fixture-plugin"), "liba.so");
    dir.install(&built_library("fixture-plugin"), "libb.so");
    let registry = Registry::load(&[dir.path().to_path_buf()]);
    let problems: Vec<String> = registry
        .problems()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(problems.len(), 2, "both of its types: {problems:#?}");
    assert!(
        problems[0].contains("libb.so") && problems[0].contains("already provided by"),
        "{}",
        problems[0]
    );
}

#[test]
fn missing_plugin_directory_is_reported_not_fatal() {
    let registry = Registry::load(&["/nonexistent/invhost-plugins".into()]);
    assert_eq!(registry.problems().len(), 1);
    assert!(
        registry.problems()[0]
            .to_string()
            .contains("/nonexistent/invhost-plugins")
    );
}
