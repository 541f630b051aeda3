//! "How do I update many documents with blocking I/O without starving the app, and without one
//! bad document stopping the rest?" A supervisor scope on `io().limited_parallelism(50)`: at
//! most 50 files are written at once, and a failing write goes to the handler alone.
//!
//! Run it with `cargo run --example documents_updater`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use scopes::prelude::*;
use scopes::{coroutine_scope, launch};

#[coroutine_scope(context = Job::supervisor() + Dispatchers::io().limited_parallelism(50) + CoroutineName::new("updater"))]
struct DocumentsUpdater {
    #[scope]
    scope: Scope,
    dir: PathBuf,
}

impl DocumentsUpdater {
    fn new(dir: PathBuf, failures: Arc<Mutex<Vec<String>>>) -> Self {
        let handler = CoroutineExceptionHandler::new(move |ctx, err| {
            let name = ctx
                .get::<CoroutineName>()
                .map(|n| n.to_string())
                .unwrap_or_default();
            failures.lock().unwrap().push(format!("{name}: {err}"));
        });
        let scope = Scope::new(Self::scope_context() + handler);
        DocumentsUpdater { scope, dir }
    }

    /// Writes one document; blocking `std::fs` is fine on the io view.
    fn update(&self, name: &str, text: String) -> Coroutine {
        let path = self.dir.join(name);
        launch!(self, CoroutineName::new(name.to_owned()) => {
            if text.is_empty() {
                return Err(format!("{} is empty, not written", path.display()).into());
            }
            std::fs::write(&path, text)?;
        })
    }
}

#[tokio::main]
async fn main() {
    let dir = std::env::temp_dir().join(format!("scopes-documents-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let failures = Arc::new(Mutex::new(Vec::new()));
    let updater = DocumentsUpdater::new(dir.clone(), failures.clone());

    let mut jobs = Vec::new();
    for i in 0..200 {
        let text = if i == 13 {
            String::new()
        } else {
            format!("document {i}")
        };
        jobs.push(updater.update(&format!("doc-{i}.txt"), text));
    }
    for job in &jobs {
        job.join().await;
    }

    let written = std::fs::read_dir(&dir).unwrap().count();
    let failures = failures.lock().unwrap().clone();
    println!("written: {written}, failed: {failures:?}");
    assert_eq!(written, 199, "one bad document does not stop the others");
    assert_eq!(failures.len(), 1);
    assert!(failures[0].starts_with("doc-13.txt: "));
    assert!(
        updater.is_active(),
        "the supervisor survives a failing child"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn example_runs() {
    main()
}
