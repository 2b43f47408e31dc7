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
