//! `hub org ...`: directory administration over gRPC, authenticated with the operator certificate
//! of the data directory.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use hub::domain::vocab::{Channel, OrgKind, ReferralCategory};
use hub::grpc::convert as cv;
use hub::pki::PkiDir;
use hub_proto::v1 as pb;
use pb::directory_service_client::DirectoryServiceClient;

/// Directory administration.
#[derive(Args)]
pub struct OrgArgs {
    /// Hub URL.
    #[arg(long, global = true, env = "HUB_URL", default_value = "https://localhost:50051")]
    hub: String,
    /// Data directory holding `pki/operator.pem`, `pki/operator.key` and `pki/ca.pem`.
    #[arg(long, global = true, env = "HUB_DATA_DIR", default_value = "hub-data")]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: OrgCommand,
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Registers an organisation.
    Register {
        /// Id, e.g. jobcenter-hannover.
        #[arg(long)]
        id: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Kind: fachstelle, jobcenter, social-services, debt-counselling, housing-company,
        /// social-work-provider, womens-counselling.
        #[arg(long)]
        kind: String,
        /// Accepted referral category (repeatable), e.g. rent-debt-takeover-sgb2.
        #[arg(long = "category")]
        categories: Vec<String>,
        /// Channel: grpc or email.
        #[arg(long, default_value = "grpc")]
        channel: String,
        /// Email address for the email channel.
        #[arg(long, default_value = "")]
        address: String,
        /// Office hours.
        #[arg(long, default_value = "")]
        office_hours: String,
    },
    /// Registers the demo network of seven synthetic organisations.
    RegisterDemoNetwork,
    /// Lists organisations.
    List {
        /// Include deactivated organisations.
        #[arg(long)]
        all: bool,
    },
    /// Sets how the hub reaches an organisation: `--email ADDRESS` makes it an email partner (or
    /// fixes its address; links already sent stop working), `--grpc` makes it call the hub itself.
    SetChannel {
        /// Organisation id.
        id: String,
        /// The new email address.
        #[arg(long, conflicts_with = "grpc", required_unless_present = "grpc")]
        email: Option<String>,
        /// Switch to gRPC.
        #[arg(long)]
        grpc: bool,
    },
    /// Deactivates an organisation (its certificate is refused from then on).
    Deactivate {
        /// Organisation id.
        id: String,
    },
    /// Reactivates an organisation.
    Reactivate {
        /// Organisation id.
        id: String,
    },
}

fn short<T>(
    s: &str,
    parse: fn(&str) -> Option<T>,
    all: &[T],
    name: fn(&T) -> &'static str,
    what: &str,
) -> anyhow::Result<T> {
    parse(&s.trim().to_uppercase().replace('-', "_")).ok_or_else(|| {
        let valid: Vec<String> = all.iter().map(|v| name(v).to_lowercase().replace('_', "-")).collect();
        anyhow!("unknown {what} '{s}'; valid: {}", valid.join(", "))
    })
}

fn key() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub async fn run(args: OrgArgs) -> anyhow::Result<()> {
    let pki = PkiDir::in_data_dir(&args.data_dir);
    let read = |p: PathBuf| std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()));
    let (ca, cert, keyf) = (read(pki.ca_cert())?, read(pki.operator_cert())?, read(pki.operator_key())?);
    let host = args.hub.split("://").nth(1).and_then(|r| r.split([':', '/']).next()).unwrap_or("localhost").to_owned();
    let channel = hub::client::connect(&args.hub, &host, &ca, Some((&cert, &keyf))).await?;
    let mut dir = DirectoryServiceClient::new(channel);
    match args.command {
        OrgCommand::Register { id, name, kind, categories, channel, address, office_hours } => {
            let kind = short(&kind, OrgKind::parse, OrgKind::ALL, |k| k.as_str(), "kind")?;
            let channel = short(&channel, Channel::parse, Channel::ALL, |k| k.as_str(), "channel")?;
            let cats = categories
                .iter()
                .map(|c| short(c, ReferralCategory::parse, ReferralCategory::ALL, |k| k.as_str(), "category"))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let spec = pb::OrganisationSpec {
                id,
                name,
                kind: cv::org_kind_pb(kind),
                accepted_categories: cats.into_iter().map(cv::referral_category_pb).collect(),
                channel: cv::channel_pb(channel),
                channel_address: address,
                office_hours,
            };
            let r = dir
                .register_organisation(pb::RegisterOrganisationRequest {
                    idempotency_key: key(),
                    organisation: Some(spec),
                })
                .await
                .map_err(|s| anyhow!("{:?}: {}", s.code(), s.message()))?;
            print_orgs(r.into_inner().organisation.as_slice());
        }
        OrgCommand::RegisterDemoNetwork => {
            for spec in hub::network::standard_network() {
                let id = spec.id.clone();
                match dir
                    .register_organisation(pb::RegisterOrganisationRequest {
                        idempotency_key: key(),
                        organisation: Some(spec),
                    })
                    .await
                {
                    Ok(_) => println!("registered {id}"),
                    Err(s) if s.code() == tonic::Code::AlreadyExists => {
                        println!("{id} exists already");
                    }
                    Err(s) => return Err(anyhow!("{id}: {:?}: {}", s.code(), s.message())),
                }
            }
        }
        OrgCommand::List { all } => {
            let r = dir
                .list_organisations(pb::ListOrganisationsRequest { kind: 0, include_inactive: all })
                .await
                .map_err(|s| anyhow!("{:?}: {}", s.code(), s.message()))?;
            print_orgs(&r.into_inner().organisations);
        }
        OrgCommand::SetChannel { id, email, grpc: _ } => {
            let org = dir
                .get_organisation(pb::GetOrganisationRequest { organisation_id: id.clone() })
                .await
                .map_err(|s| anyhow!("{:?}: {}", s.code(), s.message()))?
                .into_inner()
                .organisation
                .ok_or_else(|| anyhow!("organisation {id}: no answer"))?;
            let (channel, address) = match email {
                Some(a) => (pb::Channel::Email, a),
                None => (pb::Channel::Grpc, String::new()),
            };
            let spec = pb::OrganisationSpec {
                id: org.id,
                name: org.name,
                kind: org.kind,
                accepted_categories: org.accepted_categories,
                channel: channel as i32,
                channel_address: address,
                office_hours: org.office_hours,
            };
            let r = dir
                .update_organisation(pb::UpdateOrganisationRequest { idempotency_key: key(), organisation: Some(spec) })
                .await
                .map_err(|s| anyhow!("{:?}: {}", s.code(), s.message()))?;
            print_orgs(r.into_inner().organisation.as_slice());
        }
        OrgCommand::Deactivate { id } => {
            let r = dir
                .deactivate_organisation(pb::DeactivateOrganisationRequest {
                    idempotency_key: key(),
                    organisation_id: id,
                })
                .await
                .map_err(|s| anyhow!("{:?}: {}", s.code(), s.message()))?;
            print_orgs(r.into_inner().organisation.as_slice());
        }
        OrgCommand::Reactivate { id } => {
            let r = dir
                .reactivate_organisation(pb::ReactivateOrganisationRequest {
                    idempotency_key: key(),
                    organisation_id: id,
                })
                .await
                .map_err(|s| anyhow!("{:?}: {}", s.code(), s.message()))?;
            print_orgs(r.into_inner().organisation.as_slice());
        }
    }
    Ok(())
}

fn print_orgs(orgs: &[pb::Organisation]) {
    println!("{:<28} {:<22} {:<7} {:<7} NAME", "ID", "KIND", "CHANNEL", "ACTIVE");
    for o in orgs {
        let kind = pb::OrganisationKind::try_from(o.kind).map(|k| k.as_str_name()).unwrap_or("?");
        let ch = pb::Channel::try_from(o.channel).map(|k| k.as_str_name()).unwrap_or("?");
        println!(
            "{:<28} {:<22} {:<7} {:<7} {}",
            o.id,
            kind.trim_start_matches("ORGANISATION_KIND_"),
            ch.trim_start_matches("CHANNEL_"),
            if o.active { "yes" } else { "no" },
            o.name
        );
    }
}
