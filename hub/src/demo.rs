//! `hub demo`: the Frau K. case of DOMAIN.md played through a fresh in-process hub by real gRPC
//! clients over mutual TLS, one per organisation, printing every handoff.

pub async fn run() -> anyhow::Result<()> {
    anyhow::bail!("demo not yet written")
}
