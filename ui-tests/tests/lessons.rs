//! `README.md` lists every compile-fail case with its message; this test fails when the list and
//! the cases disagree.

use std::collections::BTreeMap;
use std::path::Path;

/// `case path -> error message`, from the README's table.
fn listed() -> BTreeMap<String, String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    readme
        .lines()
        .filter(|l| l.starts_with("| `ui/"))
        .map(|line| {
            let cells = cells(line);
            assert_eq!(cells.len(), 3, "a lesson row has three cells: {line}");
            let case = cells[0].trim_matches('`').to_owned();
            let message = cells[2].clone();
            (case, message)
        })
        .collect()
}

/// The cells of a table row; `\|` is a `|` inside a cell. Code spans are unwrapped.
fn cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut chars = line.trim().trim_start_matches('|').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cells.last_mut().unwrap().push(chars.next().unwrap())
            }
            '|' => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    cells.retain(|c| !c.trim().is_empty());
    cells
        .into_iter()
        .map(|c| {
            let c = c.trim();
            match c.strip_prefix("`` ").and_then(|c| c.strip_suffix(" ``")) {
                Some(code) => code.to_owned(),
                None => c.to_owned(),
            }
        })
        .collect()
}

fn cases(dir: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            cases(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            found.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
}

#[test]
fn the_readme_lists_every_case_with_its_message() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let listed = listed();
    let mut found = Vec::new();
    cases(&root.join("ui"), &mut found);
    found.sort();
    let listed_cases: Vec<String> = listed.keys().cloned().collect();
    assert_eq!(listed_cases, found, "README.md and ui/ disagree");
    for (case, message) in &listed {
        let stderr = std::fs::read_to_string(root.join(case).with_extension("stderr"))
            .unwrap_or_else(|_| panic!("{case} has no .stderr snapshot"));
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.ends_with(message.as_str()),
            "{case}: the README says `{message}`, the snapshot says `{first}`"
        );
        let source = std::fs::read_to_string(root.join(case)).unwrap();
        assert!(
            source.starts_with("// Lesson:"),
            "{case} opens with its lesson"
        );
        assert!(
            source.contains("//~ ERROR"),
            "{case} marks the offending line"
        );
    }
}
