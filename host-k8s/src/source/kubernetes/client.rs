//! Where the Kubernetes client gets its configuration.
//!
//! Decision: the order is controller-runtime's, which operators of other
//! controllers already know: `--kubeconfig PATH`, then `$KUBECONFIG`, then
//! the in-cluster service account (`KUBERNETES_SERVICE_HOST` and the token
//! mounted at `/var/run/secrets/kubernetes.io/serviceaccount/`), then
//! `~/.kube/config`. `--context NAME` picks a context of a kubeconfig (it is
//! an error with the in-cluster configuration, which has none). Finding no
//! configuration at all is a [`NoConfig`] error, which the command line
//! reports in one line and exits 2 for.

use anyhow::{Context as _, Result};
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::path::{Path, PathBuf};

/// How to find the cluster (the command line's `--kubeconfig` and `--context`).
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// A kubeconfig file, before `$KUBECONFIG` and the rest.
    pub kubeconfig: Option<PathBuf>,
    /// The context of the kubeconfig to use (default: its current context).
    pub context: Option<String>,
}

/// No client configuration was found anywhere.
#[derive(Debug)]
pub struct NoConfig;

impl std::fmt::Display for NoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "no Kubernetes client configuration: not in a cluster (no KUBERNETES_SERVICE_HOST), \
             no --kubeconfig, no $KUBECONFIG and no ~/.kube/config",
        )
    }
}

impl std::error::Error for NoConfig {}

/// Where the configuration was found, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A kubeconfig file (or `$KUBECONFIG`'s list of files).
    Kubeconfig(String),
    /// The in-cluster service account.
    InCluster,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Kubeconfig(p) => write!(f, "kubeconfig {p}"),
            Origin::InCluster => f.write_str("in-cluster service account"),
        }
    }
}

/// Finds the client configuration (see the module docs). Reads files and
/// the environment, makes no request.
pub async fn config(opts: &ClientOptions) -> Result<(kube::Config, Origin)> {
    let kc_opts = KubeConfigOptions {
        context: opts.context.clone(),
        ..Default::default()
    };
    if let Some(path) = &opts.kubeconfig {
        let kc = Kubeconfig::read_from(path)
            .with_context(|| format!("reading the kubeconfig {}", path.display()))?;
        return from_kubeconfig(kc, &kc_opts, path.display().to_string()).await;
    }
    if let Some(kc) = Kubeconfig::from_env().context("reading $KUBECONFIG")? {
        let name = std::env::var("KUBECONFIG").unwrap_or_default();
        return from_kubeconfig(kc, &kc_opts, name).await;
    }
    if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        anyhow::ensure!(
            opts.context.is_none(),
            "--context names a kubeconfig context, but the configuration is the in-cluster service account"
        );
        let c = kube::Config::incluster().context("the in-cluster service account")?;
        return Ok((c, Origin::InCluster));
    }
    if let Some(home) = home_config().filter(|p| p.is_file()) {
        let kc = Kubeconfig::read_from(&home)
            .with_context(|| format!("reading the kubeconfig {}", home.display()))?;
        return from_kubeconfig(kc, &kc_opts, home.display().to_string()).await;
    }
    Err(NoConfig.into())
}

async fn from_kubeconfig(
    kc: Kubeconfig,
    opts: &KubeConfigOptions,
    name: String,
) -> Result<(kube::Config, Origin)> {
    let c = kube::Config::from_custom_kubeconfig(kc, opts)
        .await
        .with_context(|| format!("using the kubeconfig {name}"))?;
    Ok((c, Origin::Kubeconfig(name)))
}

fn home_config() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    Some(Path::new(&home).join(".kube").join("config"))
}
