//! The reference server: the hub's own gRPC services with nothing behind them, over the same TLS
//! (the hub's server certificate, client certificates of the hub's CA, optional at the TLS layer as
//! in the hub). It runs as a separate process (`hub-bench ref-server`) so its CPU and memory are
//! measured exactly like the hub's.
//!
//! - Accepted connections get tonic's default `TCP_NODELAY` (what `Server::serve(addr)` does).
//! - `DirectoryService.GetOrganisation` answers a fixed organisation (the echo for unary reads).
//! - `EventService.Subscribe` is a bare `tokio::sync::broadcast` receiver feeding the tonic stream
//!   through a task and a 64-slot channel, the shape the hub uses.
//! - `DirectoryService.RegisterOrganisation` with id `publish` publishes `name` (a number) events
//!   into the broadcast, in batches of `office_hours` (a number) with a yield between batches.

use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::Context;
use hub_proto::v1 as pb;
use tokio::sync::broadcast;
use tokio_stream::Stream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status};

#[derive(Clone)]
struct Reference {
    org: pb::Organisation,
    events: broadcast::Sender<Arc<pb::Event>>,
}

/// The organisation the echo answers, shaped like the hub's answer for the Fachstelle.
pub fn sample_org(id: &str) -> pb::Organisation {
    pb::Organisation {
        id: id.to_owned(),
        name: "Fachstelle Wohnungserhalt (Demo)".to_owned(),
        kind: pb::OrganisationKind::Fachstelle as i32,
        accepted_categories: (1..=14).collect(),
        channel: pb::Channel::Grpc as i32,
        channel_address: String::new(),
        office_hours: "Mo, Di, Do 08:30-11:00".to_owned(),
        active: true,
        created_at: Some(prost_types::Timestamp { seconds: 1_766_394_000, nanos: 0 }),
        updated_at: Some(prost_types::Timestamp { seconds: 1_766_394_000, nanos: 0 }),
        capacities: Vec::new(),
        capacity_updated_at: None,
    }
}

/// One synthetic event, shaped like the hub's NOTICE_RECEIVED.
pub fn sample_event(cursor: u64) -> pb::Event {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    pb::Event {
        cursor,
        kind: pb::EventKind::NoticeReceived as i32,
        notice_id: format!("ntc-{}", uuid::Uuid::new_v4()),
        actor_organisation_id: "wohnbau-nord".to_owned(),
        occurred_at: Some(prost_types::Timestamp {
            seconds: i64::try_from(now.as_secs()).unwrap_or(0),
            nanos: i32::try_from(now.subsec_nanos()).unwrap_or(0),
        }),
        ..Default::default()
    }
}

type Unary<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl pb::directory_service_server::DirectoryService for Reference {
    async fn register_organisation(
        &self,
        req: Request<pb::RegisterOrganisationRequest>,
    ) -> Unary<pb::RegisterOrganisationResponse> {
        let spec = req.into_inner().organisation.unwrap_or_default();
        if spec.id != "publish" {
            return Err(Status::unimplemented("reference server"));
        }
        let n: u64 = spec.name.parse().map_err(|_| Status::invalid_argument("name: count"))?;
        let batch: u64 = spec.office_hours.parse().unwrap_or(500).max(1);
        for i in 0..n {
            let _ = self.events.send(Arc::new(sample_event(i + 1)));
            if (i + 1) % batch == 0 {
                tokio::task::yield_now().await;
            }
        }
        Ok(Response::new(pb::RegisterOrganisationResponse { organisation: None }))
    }
    async fn update_organisation(
        &self,
        _: Request<pb::UpdateOrganisationRequest>,
    ) -> Unary<pb::UpdateOrganisationResponse> {
        Err(Status::unimplemented("reference server"))
    }
    async fn deactivate_organisation(
        &self,
        _: Request<pb::DeactivateOrganisationRequest>,
    ) -> Unary<pb::DeactivateOrganisationResponse> {
        Err(Status::unimplemented("reference server"))
    }
    async fn reactivate_organisation(
        &self,
        _: Request<pb::ReactivateOrganisationRequest>,
    ) -> Unary<pb::ReactivateOrganisationResponse> {
        Err(Status::unimplemented("reference server"))
    }
    async fn get_organisation(&self, req: Request<pb::GetOrganisationRequest>) -> Unary<pb::GetOrganisationResponse> {
        let mut org = self.org.clone();
        org.id = req.into_inner().organisation_id;
        Ok(Response::new(pb::GetOrganisationResponse { organisation: Some(org) }))
    }
    async fn set_capacity(&self, _: Request<pb::SetCapacityRequest>) -> Unary<pb::SetCapacityResponse> {
        Err(Status::unimplemented("reference server"))
    }

    async fn list_organisations(
        &self,
        _: Request<pb::ListOrganisationsRequest>,
    ) -> Unary<pb::ListOrganisationsResponse> {
        Ok(Response::new(pb::ListOrganisationsResponse { organisations: vec![self.org.clone()] }))
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::SubscribeResponse, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl pb::event_service_server::EventService for Reference {
    type SubscribeStream = EventStream;

    async fn subscribe(&self, _: Request<pb::SubscribeRequest>) -> Result<Response<Self::SubscribeStream>, Status> {
        let mut rx = self.events.subscribe();
        let (tx, out) = tokio::sync::mpsc::channel::<Result<pb::SubscribeResponse, Status>>(64);
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(e) => {
                        if tx.send(Ok(pb::SubscribeResponse { event: Some((*e).clone()) })).await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        let _ = tx.send(Err(Status::data_loss(format!("lagged by {n}")))).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(out))))
    }
}

/// Serves until killed; prints `ready` on stdout once listening.
pub async fn serve(pki: &Path, listen: SocketAddr, capacity: usize) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let read = |f: &str| std::fs::read_to_string(pki.join(f)).with_context(|| format!("reading {f}"));
    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(read("server.pem")?, read("server.key")?))
        .client_ca_root(Certificate::from_pem(read("ca.pem")?))
        .client_auth_optional(true);
    let (events, _) = broadcast::channel(capacity);
    let svc = Reference { org: sample_org("fachstelle-hannover"), events };
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("ready");
    Server::builder()
        .tls_config(tls)?
        .add_service(pb::directory_service_server::DirectoryServiceServer::new(svc.clone()))
        .add_service(pb::event_service_server::EventServiceServer::new(svc))
        // tonic's own defaults for a bound listener (TCP_NODELAY on, as `Server::serve` sets it).
        .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)))
        .await?;
    Ok(())
}

/// The reference server as a child process of this binary.
pub struct RefProc {
    child: std::process::Child,
    /// Its address.
    pub addr: SocketAddr,
}

impl RefProc {
    /// Starts `hub-bench ref-server` with the hub's PKI.
    pub async fn start(pki: &Path, capacity: usize) -> anyhow::Result<Self> {
        let addr: SocketAddr = format!("127.0.0.1:{}", crate::hubproc::free_port()?).parse()?;
        let child = std::process::Command::new(std::env::current_exe()?)
            .args(["ref-server", "--pki"])
            .arg(pki)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--capacity")
            .arg(capacity.to_string())
            .stdout(std::process::Stdio::null())
            .spawn()?;
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(Self { child, addr });
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        anyhow::bail!("reference server did not start")
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RefProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
