//! README.md's commands, run as written against the demo's repository: every
//! fenced `sh` block after a `<!-- README test` comment, in order, each
//! `invhost` command of it (continuation lines joined, comments dropped).
//! A command in README that stops working fails this test.

use std::path::Path;

use crate::support::{Invhost, PluginDir, built_library, repo_root};

/// The `invhost` commands of the tested blocks, in README order.
fn tested_commands(readme: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        if !line.trim_start().starts_with("<!-- README test") {
            continue;
        }
        let fence = lines.next().unwrap_or_default();
        assert_eq!(fence.trim(), "```sh", "a README test marks a ```sh block");
        let mut pending = String::new();
        for line in lines.by_ref() {
            if line.trim() == "```" {
                break;
            }
            let code = strip_comment(line);
            let (code, continues) = match code.trim_end().strip_suffix('\\') {
                Some(code) => (code, true),
                None => (code, false),
            };
            pending.push_str(code.trim());
            pending.push(' ');
            if !continues {
                let command = pending.trim().to_owned();
                if command.starts_with("invhost ") {
                    commands.push(command);
                }
                pending.clear();
            }
        }
    }
    commands
}

/// A line without its `#` comment (one outside quotes, after a space).
fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' if !quoted && previous.is_whitespace() => return &line[..i],
            _ => {}
        }
        previous = c;
    }
    line
}

/// Shell words: double quotes group, `$PWD` is the repository's root.
fn words(command: &str, root: &Path) -> Vec<String> {
    let command = command.replace("$PWD", &root.display().to_string());
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in command.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

#[test]
fn the_readme_commands_work_as_written() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let commands = tested_commands(&readme);
    assert!(
        commands.len() >= 20,
        "the marked blocks hold {} commands: {commands:#?}",
        commands.len()
    );

    // The demo's repository, and its key, as its closing hint names them.
    let plugins = PluginDir::new();
    let csv = plugins.install(&built_library("csv-inventory"), "libcsv_inventory.so");
    let mut invhost = Invhost::new();
    let (code, stdout, stderr) = invhost.run(&["demo", "--users", "10", "--devices", "5"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let alias = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("alias demo-invhost=\""))
        .unwrap_or_else(|| panic!("no alias in: {stdout}"));
    let quoted: Vec<&str> = alias.split('\'').collect();
    let (key, database) = (quoted[1].to_owned(), quoted[3].to_owned());
    invhost.database = Some(database);
    invhost.env.push(("INVHOST_SECRET_KEY_FILE".into(), key));
    invhost.plugin_dir = Some(plugins.path().to_path_buf());

    let release_plugin = "target/release/libcsv_inventory.so";
    for command in &commands {
        let mut args = words(command, &root);
        assert_eq!(args.remove(0), "invhost");
        // README's paths are of a release build; the suite's are of its own.
        for arg in &mut args {
            if arg == release_plugin {
                *arg = csv.display().to_string();
            }
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stdout, stderr) = invhost.run(&refs);
        assert_eq!(code, 0, "README's `{command}` failed:\n{stdout}\n{stderr}");
    }
}

#[test]
fn comments_and_continuations_are_read_as_a_shell_would() {
    let readme = "<!-- README test -->\n```sh\ninvhost a \"b c\" \\\n    --d e   # note \"x\"\ncargo build\ninvhost f#g\n```\n";
    let commands = tested_commands(readme);
    assert_eq!(commands, ["invhost a \"b c\" --d e", "invhost f#g"]);
    assert_eq!(
        words(&commands[0], Path::new("/r")),
        ["invhost", "a", "b c", "--d", "e"]
    );
    assert_eq!(words("x $PWD/y", Path::new("/r")), ["x", "/r/y"]);
}
