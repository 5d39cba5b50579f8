//! A STAC API on 127.0.0.1 holding N generated items (the test harness), for the
//! benchmark: `cargo run --release -p cirrus-feeders --features testing --example stac_server -- 25000`.
//! Prints its URL on stdout, then serves until killed.

use cirrus_feeders::testing::StacServer;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(25_000);
    let server = StacServer::start(n).await?;
    println!("{}", server.url);
    std::future::pending::<()>().await;
    Ok(())
}
