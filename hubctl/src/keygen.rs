//! `hubctl keygen`: the partner's private key and certificate signing request, made where the key is
//! used. Only the request leaves the machine; the hub signs it (`hub pki sign`) and sends back the
//! certificate. The hub sets the certificate's names itself, so the request carries only the
//! organisation's id as its common name, for the operator to read.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, bail};
use rcgen::{CertificateParams, DnType, KeyPair};

use crate::args::KeygenArgs;

/// Runs `hubctl keygen`.
pub fn run(args: &KeygenArgs) -> anyhow::Result<()> {
    let org = args.org.trim();
    if org.is_empty() || !org.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        bail!("--org: '{org}' is not an organisation id (lower-case letters, digits and '-')");
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let (key_file, csr_file) = (args.out.join(format!("{org}.key")), args.out.join(format!("{org}.csr")));
    if key_file.exists() && !args.force {
        bail!("{} exists already; use --force to replace it (its certificate then stops working)", key_file.display());
    }
    let key = KeyPair::generate().context("generating the key")?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, org);
    let csr = params.serialize_request(&key).context("making the signing request")?.pem()?;
    write_private(&key_file, &key.serialize_pem())?;
    std::fs::write(&csr_file, csr).with_context(|| format!("writing {}", csr_file.display()))?;
    println!("private key: {} (keep it here; never send it)", key_file.display());
    println!("signing request: {} (send it to the hub's operator)", csr_file.display());
    Ok(())
}

/// Writes `contents` to a new file only its owner can read.
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        open.mode(0o600);
    }
    let mut file = open.open(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes()).with_context(|| format!("writing {}", path.display()))
}
