//! The `starling` binary: parses the command line, sets up logging and runs.

use clap::{Parser, Subcommand};
use starling::Config;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "starling",
    version,
    about = "A real-time Twitter-like backend over WebSockets"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(Config),
    /// Write a large synthetic graph into a new data folder.
    Seed(starling::bot::seed::SeedArgs),
    /// Load-test a running server.
    Bot(starling::bot::BotArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("STARLING_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let runtime = tokio::runtime::Runtime::new().expect("the tokio runtime starts");
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(config) => serve(config).await,
            Command::Seed(args) => {
                let started = std::time::Instant::now();
                let seeded = tokio::task::spawn_blocking(move || starling::bot::seed::run(&args))
                    .await
                    .map_err(|e| starling::Fault(format!("seed task failed: {e}")))??;
                println!(
                    "seeded {} users, {} follows, {} tweets ({} snapshot bytes) in {:.1} s",
                    seeded.users,
                    seeded.follows,
                    seeded.tweets,
                    seeded.bytes,
                    started.elapsed().as_secs_f64()
                );
                Ok(())
            }
            Command::Bot(args) => {
                let report = starling::bot::run(&args).await?;
                if args.json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&report).unwrap_or_default()
                    );
                } else {
                    print!("{}", report.human());
                }
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("starling: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), starling::Fault> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| starling::Fault(format!("cannot listen on {}: {e}", config.listen)))?;
    if let Ok(addr) = listener.local_addr() {
        // One plain line for people and scripts (`--listen 127.0.0.1:0` picks a free port).
        println!("starling listening on http://{addr}");
    }
    starling::run(listener, config, shutdown_signal()).await
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler installs");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
