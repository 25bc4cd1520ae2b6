//! The shape of the code, read from its source: no circle between the crate's top-level
//! modules, and the layers that must not know each other do not (the API client knows no
//! terminal, the app and the command line do not import each other, the server is nobody's
//! client). A dependency is a `crate::module` path in code — comments and test-only files left
//! out, since a test may look anywhere.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Imports a layer must never make.
const FORBIDDEN: [(&str, &[&str]); 5] = [
    ("api", &["cli", "tui", "format", "server", "journal", "config"]),
    ("tui", &["cli"]),
    ("cli", &["tui"]),
    ("server", &["cli", "tui", "journal"]),
    ("lease", &["cli", "tui", "journal"]),
];

fn source_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// Whether a file is compiled for tests only (`tests.rs`, `…_tests.rs`, a `tests/` folder).
fn test_only(relative: &Path) -> bool {
    relative.components().any(|c| c.as_os_str() == "tests")
        || relative
            .file_stem()
            .is_some_and(|stem| stem == "tests" || stem.to_string_lossy().ends_with("_tests"))
}

/// The code of `text` without comments and without its `#[cfg(test)] mod tests { … }` (which
/// the crate's files keep at their end).
fn code_of(text: &str) -> String {
    let before_tests = match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => text,
    };
    before_tests
        .lines()
        .map(|line| match line.find("//") {
            // A `//` inside a string ("https://…") is rare in paths; good enough here.
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level names a path names after `crate::`: one (`api::Client`) or, for a group
/// (`{api::Client, format}`), the first name of each member.
fn names_after(path: &str) -> Vec<String> {
    let ident = |text: &str| -> String {
        text.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect()
    };
    let Some(group) = path.strip_prefix('{') else {
        return vec![ident(path)];
    };
    let mut names = Vec::new();
    let mut depth = 0;
    let mut member_start = true;
    for (at, c) in group.char_indices() {
        if member_start && depth == 0 && !c.is_whitespace() {
            names.push(ident(&group[at..]));
            member_start = false;
        }
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => member_start = true,
            _ => {}
        }
    }
    names
}

/// Module → the top-level modules its code names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    source_files(&src, &mut files);
    let top = |relative: &Path| -> String {
        let first = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        first.trim_end_matches(".rs").to_string()
    };
    let modules: BTreeSet<String> = files
        .iter()
        .map(|f| top(f.strip_prefix(&src).unwrap()))
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let from = top(relative);
        if from == "lib" || from == "main" || test_only(relative) {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        let edges = graph.entry(from.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            for name in names_after(&code[at + 7..]) {
                if name != from && modules.contains(&name) {
                    edges.insert(name);
                }
            }
        }
        // `super::super::…` out of a top-level module is not used in this crate; `use
        // crate::` is the only way in.
    }
    graph
}

/// A circle through `start`, if there is one.
fn circle_from(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in graph.get(&node).into_iter().flatten() {
            if next == start {
                let mut circle = path.clone();
                circle.push(start.to_string());
                return Some(circle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn no_circle_between_the_top_level_modules() {
    let graph = graph();
    assert!(graph.len() > 15, "the source was read: {graph:?}");
    let circles: Vec<String> = graph
        .keys()
        .filter_map(|module| circle_from(&graph, module))
        .map(|circle| circle.join(" → "))
        .collect();
    assert!(circles.is_empty(), "import circles:\n{}", circles.join("\n"));
}

#[test]
fn the_layers_import_only_what_they_may() {
    let graph = graph();
    let mut wrong = Vec::new();
    for (module, forbidden) in FORBIDDEN {
        for name in forbidden.iter().copied() {
            if graph.get(module).is_some_and(|edges| edges.contains(name)) {
                wrong.push(format!("{module} imports {name}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_a_circle_when_there_is_one() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(m, to)| (m.to_string(), to.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(circle_from(&graph, "a").unwrap(), ["a", "b", "c", "a"]);
    assert_eq!(circle_from(&graph, "d"), None);
    assert_eq!(names_after("api::Client;"), ["api"]);
    assert_eq!(
        names_after("{api::{Client, LockInfo}, format,\n    journal::Journal};"),
        ["api", "format", "journal"]
    );
    assert_eq!(
        code_of("use crate::a; // crate::b\n#[cfg(test)]\nmod tests {\nuse crate::c;\n}"),
        "use crate::a; "
    );
}
