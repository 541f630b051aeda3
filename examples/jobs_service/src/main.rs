//! The job service: `jobs-service [ADDR] [--engine scopes|tokio]`.
//!
//! ADDR (or `JOBS_ADDR`) defaults to 127.0.0.1:3000; `JOBS_GRACE_MS` sets the shutdown's grace
//! period (default 2000), `JOBS_WORK_MS` a job's default work (200), `JOBS_PARALLELISM` the
//! limit (50). Ctrl-C or `POST /shutdown` shuts it down and prints the summary.

use std::time::Duration;

use jobs_service::{App, Config, EngineKind, serve};

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    match value.parse() {
        Ok(number) => Some(number),
        Err(_) => {
            eprintln!("ignoring {name}={value:?}: not a number");
            None
        }
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut config = Config::default();
    let mut addr = std::env::var("JOBS_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--engine" => match args.next().as_deref() {
                Some("scopes") => config.engine = EngineKind::Scopes,
                Some("tokio") => config.engine = EngineKind::Tokio,
                other => {
                    eprintln!("--engine takes scopes or tokio, not {other:?}");
                    std::process::exit(2);
                }
            },
            "-h" | "--help" => {
                println!("usage: jobs-service [ADDR] [--engine scopes|tokio]");
                return Ok(());
            }
            _ => addr = arg,
        }
    }
    if let Some(ms) = env_number("JOBS_GRACE_MS") {
        config.grace = Duration::from_millis(ms);
    }
    if let Some(ms) = env_number("JOBS_WORK_MS") {
        config.work = Duration::from_millis(ms);
    }
    if let Some(n) = env_number("JOBS_PARALLELISM") {
        config.parallelism = n.max(1) as usize;
    }
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!(
        "jobs-service ({}) on http://{}",
        config.engine.name(),
        listener.local_addr()?
    );
    let summary = serve(listener, App::new(config), jobs_service::ctrl_c()).await?;
    println!("{summary}");
    Ok(())
}
