//! A tiny echo HTTP server for examples and tests (`emissary example-backend`):
//! it answers every request with its name, port, method and path, and waits
//! `?delay_ms=N` milliseconds first (at most 60 s) to play a slow backend.

use axum::extract::{Request, State};
use std::net::SocketAddr;
use std::time::Duration;

/// One backend's identity.
#[derive(Clone)]
struct Me {
    name: String,
    port: u16,
}

/// Serves on `addr` until `shutdown` resolves.
pub async fn serve(
    addr: SocketAddr,
    name: String,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("example backend: binding {addr}: {e}"))?;
    let me = Me {
        name,
        port: addr.port(),
    };
    tracing::info!(%addr, name = %me.name, "example backend listening");
    let app = axum::Router::new().fallback(echo).with_state(me);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

async fn echo(State(me): State<Me>, req: Request) -> String {
    let delay = req.uri().query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "delay_ms")
            .and_then(|(_, v)| v.parse::<u64>().ok())
    });
    if let Some(ms) = delay {
        tokio::time::sleep(Duration::from_millis(ms.min(60_000))).await;
    }
    format!(
        "backend={} port={} method={} path={}\n",
        me.name,
        me.port,
        req.method(),
        req.uri().path()
    )
}
