//! `hub staff`: dashboard accounts, administered on the database directly (like `hub keys`), so
//! the first account can be created before anyone can sign in. Works while the hub runs.

use std::io::Read as _;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Subcommand;
use hub::clock::SystemClock;
use hub::config::Config;
use hub::service::Hub;
use hub::service::staff::{AccountAdmin, MIN_PASSWORD_CHARS, NewStaff};

/// Where the database is (the same settings as `serve`).
#[derive(clap::Args)]
pub struct Db {
    /// TOML configuration file (`HUB_CONFIG`); `HUB_*` variables override it.
    #[arg(long, env = "HUB_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (overrides config and `HUB_DATA_DIR`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Database URL (overrides config and `HUB_DATABASE_URL`).
    #[arg(long)]
    database_url: Option<String>,
}

/// Staff account commands.
#[derive(Subcommand)]
pub enum StaffCommand {
    /// Creates an account. Without `--password-stdin` a random password is generated and printed
    /// once: hand it over in person.
    Add {
        #[command(flatten)]
        db: Db,
        /// Sign-in name (a-z, 0-9, '.', '-', '_'), e.g. k.meyer.
        #[arg(long)]
        user: String,
        /// Name recorded in the audit trail, e.g. "K. Meyer (Sachbearbeitung 3)".
        #[arg(long)]
        name: String,
        /// The organisation the staff member works for: Fachstelle staff see the dashboard, partners
        /// their inbox of referrals.
        #[arg(long)]
        org: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        /// The account administers its organisation's staff accounts on the page "Mitarbeitende"
        /// (make each organisation's first administrator this way).
        #[arg(long)]
        admin: bool,
    },
    /// Sets a new password (generated, or from standard input); ends the account's sessions.
    Passwd {
        #[command(flatten)]
        db: Db,
        /// Sign-in name.
        user: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disables an account; its sessions end at once.
    Disable {
        #[command(flatten)]
        db: Db,
        /// Sign-in name.
        user: String,
    },
    /// Enables a disabled account again.
    Enable {
        #[command(flatten)]
        db: Db,
        /// Sign-in name.
        user: String,
    },
    /// Lists the accounts (never a password or hash).
    List {
        #[command(flatten)]
        db: Db,
    },
}

async fn open_hub(db: Db) -> anyhow::Result<Hub> {
    let mut config = Config::load(db.config.as_deref())?;
    if let Some(d) = db.data_dir {
        config.data_dir = d;
    }
    if let Some(u) = db.database_url {
        config.database_url = Some(u);
    }
    let (store, _) = hub::server::open_existing_store(&config).await?;
    Ok(Hub::new(store, Arc::new(SystemClock), config.sla.clone()))
}

/// A password read from standard input (first line), or a generated one (printed by the caller).
fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        let line = s.lines().next().unwrap_or_default().to_owned();
        anyhow::ensure!(
            line.chars().count() >= MIN_PASSWORD_CHARS,
            "the password must be at least {MIN_PASSWORD_CHARS} characters"
        );
        return Ok((line, false));
    }
    let mut bytes = [0u8; 15];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| anyhow::anyhow!("the system random number generator failed"))?;
    // 20 characters from an alphabet without look-alikes (no 0/O, 1/l/I): about 100 bits.
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let pw = bytes.iter().flat_map(|b| [b % 57, (b / 57) % 57]).take(20).map(|i| ALPHABET[i as usize] as char);
    Ok((pw.collect(), true))
}

/// Runs a `hub staff` command.
pub async fn run(cmd: StaffCommand) -> anyhow::Result<()> {
    let operator = AccountAdmin::Operator;
    match cmd {
        StaffCommand::Add { db, user, name, org, password_stdin, admin } => {
            let hub = open_hub(db).await?;
            let (pw, generated) = password(password_stdin)?;
            let new = NewStaff { username: user, display_name: name, org, password: pw.clone(), admin };
            let a = hub.add_staff(&operator, new).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("created staff account {} ({}) for {}", a.username, a.display_name.as_str(), a.org);
            if generated {
                println!("password (shown once): {pw}");
            }
        }
        StaffCommand::Passwd { db, user, password_stdin } => {
            let hub = open_hub(db).await?;
            let (pw, generated) = password(password_stdin)?;
            hub.set_staff_password(&operator, &user, &pw).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("new password set for {user}; its sessions ended");
            if generated {
                println!("password (shown once): {pw}");
            }
        }
        StaffCommand::Disable { db, user } => {
            open_hub(db).await?.set_staff_disabled(&operator, &user, true).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("disabled {user}; its sessions ended");
        }
        StaffCommand::Enable { db, user } => {
            open_hub(db)
                .await?
                .set_staff_disabled(&operator, &user, false)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("enabled {user}");
        }
        StaffCommand::List { db } => {
            let accounts = open_hub(db).await?.list_staff(&operator).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{:<24} {:<28} {:<32} {:<14} state", "user", "organisation", "name", "role");
            for a in accounts {
                let state = if a.disabled { "disabled" } else { "active" };
                let role = if a.admin { "administrator" } else { "staff" };
                println!("{:<24} {:<28} {:<32} {role:<14} {state}", a.username, a.org, a.display_name.as_str());
            }
        }
    }
    Ok(())
}
