//! "Should my use case take a scope as a parameter?" No: write it as a suspending function that
//! states where it runs, `#[dispatched(on = Dispatchers::io())]`, and let the caller decide where to
//! launch it (and so who owns it and cancels it).
//!
//! Run it with `cargo run --example upload_use_case`.

use std::path::PathBuf;

use scopes::prelude::*;
use scopes::{async_, dispatched};

/// Uploads a file: blocking reads are fine, the body runs on io() whoever calls it.
#[dispatched(on = Dispatchers::io())]
async fn upload(path: PathBuf) -> Result<usize, std::io::Error> {
    scopes::require_dispatcher(&Dispatchers::io()).expect("the body runs on io()");
    let bytes = std::fs::read(&path)?;
    Ok(bytes.len()) // pretend to send them
}

#[tokio::main]
async fn main() {
    let file = std::env::temp_dir().join(format!("scopes-upload-{}.bin", std::process::id()));
    std::fs::write(&file, vec![7u8; 4096]).unwrap();

    // The caller owns the work: here, a screen's scope.
    let screen = Scope::new(Job::supervisor() + CoroutineName::new("screen"));
    let to_send = file.clone();
    let sent = async_!(screen, { upload(to_send).await? });
    let missing = async_!(screen, { upload(PathBuf::from("/no/such/file")).await? });

    let sent = sent.await.unwrap();
    let missing = missing.await.unwrap_err();
    println!("sent {sent} bytes; the missing file failed with: {missing}");
    assert_eq!(sent, 4096);
    assert!(missing.to_string().contains("No such file"));
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn example_runs() {
    main()
}
