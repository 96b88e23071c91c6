//! The hub's small certificate authority. `hub pki init` creates a CA, the server certificate and
//! the operator certificate; `hub pki issue <org>` issues a partner's client certificate whose URI
//! SAN names the organisation. Keys are generated here and never leave the data directory except
//! as the partner's own PEM files; nothing is checked into the repository.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, CertifiedIssuer, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::domain::certificate::Serial;
use crate::domain::ids::OrgId;
use crate::grpc::identity::{OPERATOR_URI, ORG_URI_PREFIX};

/// Where the PKI files live inside a data directory.
#[derive(Debug, Clone)]
pub struct PkiDir(PathBuf);

impl PkiDir {
    /// `<data_dir>/pki`.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self(data_dir.join("pki"))
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }
    /// CA certificate (give this to partners).
    pub fn ca_cert(&self) -> PathBuf {
        self.0.join("ca.pem")
    }
    /// CA private key.
    pub fn ca_key(&self) -> PathBuf {
        self.0.join("ca.key")
    }
    /// Server certificate.
    pub fn server_cert(&self) -> PathBuf {
        self.0.join("server.pem")
    }
    /// Server key.
    pub fn server_key(&self) -> PathBuf {
        self.0.join("server.key")
    }
    /// Operator certificate.
    pub fn operator_cert(&self) -> PathBuf {
        self.0.join("operator.pem")
    }
    /// Operator key.
    pub fn operator_key(&self) -> PathBuf {
        self.0.join("operator.key")
    }
    /// Default folder for issued client certificates.
    pub fn clients(&self) -> PathBuf {
        self.0.join("clients")
    }
}

/// A certificate and its key, PEM-encoded.
#[derive(Clone)]
pub struct PemPair {
    /// Certificate.
    pub cert: String,
    /// Private key (PKCS#8).
    pub key: String,
}

impl std::fmt::Debug for PemPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PemPair { key: <redacted> }")
    }
}

/// Validity from yesterday for `days` days from now.
fn valid_for(days: i64) -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (now - Duration::days(1), now + Duration::days(days))
}

/// A fresh CA.
pub fn new_ca(common_name: &str) -> anyhow::Result<PemPair> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.distinguished_name.push(DnType::OrganizationName, "Wohnungserhalt Hub");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    (params.not_before, params.not_after) = valid_for(3650);
    let key_pem = key.serialize_pem();
    let ca = CertifiedIssuer::self_signed(params, key)?;
    Ok(PemPair { cert: ca.pem(), key: key_pem })
}

/// The parameters of a certificate the CA signs: a server's (DNS names) or a client's (a URI SAN naming
/// the organisation or the operator), with a random serial number the hub records.
fn leaf_params(
    cn: &str,
    dns: &[String],
    uri: Option<&str>,
    server: bool,
    (not_before, not_after): (OffsetDateTime, OffsetDateTime),
) -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(dns.to_vec())?;
    params.distinguished_name.push(DnType::CommonName, cn);
    if let Some(uri) = uri {
        params.subject_alt_names.push(SanType::URI(uri.try_into()?));
    }
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages =
        vec![if server { ExtendedKeyUsagePurpose::ServerAuth } else { ExtendedKeyUsagePurpose::ClientAuth }];
    params.not_before = not_before;
    params.not_after = not_after;
    let mut serial = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut serial)
        .map_err(|_| anyhow::anyhow!("the system random number generator failed"))?;
    // Positive and of full length (DER integers are signed).
    serial[0] = (serial[0] & 0x7f) | 0x40;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    Ok(params)
}

/// The CA as an issuer.
fn issuer(ca: &PemPair) -> anyhow::Result<Issuer<'static, KeyPair>> {
    let ca_key = KeyPair::from_pem(&ca.key).context("reading the CA key")?;
    Issuer::from_ca_cert_pem(&ca.cert, ca_key).context("reading the CA certificate")
}

fn leaf(
    ca: &PemPair,
    cn: &str,
    dns: &[String],
    uri: Option<&str>,
    server: bool,
    validity: (OffsetDateTime, OffsetDateTime),
) -> anyhow::Result<PemPair> {
    let key = KeyPair::generate()?;
    let cert = leaf_params(cn, dns, uri, server, validity)?.signed_by(&key, &issuer(ca)?)?;
    Ok(PemPair { cert: cert.pem(), key: key.serialize_pem() })
}

/// A partner's certificate signed from its signing request (`hub pki sign`).
#[derive(Debug, Clone)]
pub struct SignedCertificate {
    /// The certificate, PEM-encoded, to send back to the partner.
    pub pem: String,
    /// Its serial number.
    pub serial: Serial,
    /// Its last valid instant.
    pub not_after: OffsetDateTime,
}

/// Signs a partner's certificate signing request for `org`, valid from yesterday for `days` days. Only
/// the request's public key is taken (its signature, checked here, shows the partner holds the private
/// key, which never leaves the partner); the name, the organisation and the validity are the hub's,
/// whatever the request asked for.
pub fn sign_csr(ca: &PemPair, csr_pem: &str, org: &OrgId, days: i64) -> anyhow::Result<SignedCertificate> {
    let mut csr = CertificateSigningRequestParams::from_pem(csr_pem)
        .map_err(|e| anyhow::anyhow!("not a valid certificate signing request (PEM, signed by its key): {e}"))?;
    let validity = valid_for(days);
    csr.params = leaf_params(org.as_str(), &[], Some(&format!("{ORG_URI_PREFIX}{org}")), false, validity)?;
    let serial = csr.params.serial_number.as_ref().map(|s| Serial::from_bytes(s.as_ref())).context("no serial")?;
    let cert = csr.signed_by(&issuer(ca)?)?;
    Ok(SignedCertificate { pem: cert.pem(), serial, not_after: validity.1 })
}

/// A server certificate for the given DNS names / IP addresses.
pub fn server_cert(ca: &PemPair, names: &[String]) -> anyhow::Result<PemPair> {
    leaf(ca, "wohnungserhalt-hub", names, None, true, valid_for(825))
}

/// A client certificate for an organisation (URI SAN `urn:wohnungserhalt:org:<id>`), valid from
/// yesterday for two years.
pub fn org_cert(ca: &PemPair, org: &OrgId) -> anyhow::Result<PemPair> {
    let (not_before, not_after) = valid_for(730);
    org_cert_valid(ca, org, not_before.into(), not_after.into())
}

/// A client certificate for an organisation with the given validity (tests issue expired and
/// not-yet-valid ones with it; `org_cert` is this with the default validity).
pub fn org_cert_valid(
    ca: &PemPair,
    org: &OrgId,
    not_before: std::time::SystemTime,
    not_after: std::time::SystemTime,
) -> anyhow::Result<PemPair> {
    let uri = format!("{ORG_URI_PREFIX}{org}");
    leaf(ca, org.as_str(), &[], Some(&uri), false, (not_before.into(), not_after.into()))
}

/// The operator's client certificate.
pub fn operator_cert(ca: &PemPair) -> anyhow::Result<PemPair> {
    leaf(ca, "operator", &[], Some(OPERATOR_URI), false, valid_for(730))
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

fn write_pair(cert: &Path, key: &Path, pair: &PemPair) -> anyhow::Result<()> {
    std::fs::write(cert, &pair.cert).with_context(|| format!("writing {}", cert.display()))?;
    write_private(key, &pair.key)
}

/// When the first certificate of a PEM text expires.
pub fn not_after(pem: &str) -> anyhow::Result<OffsetDateTime> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|e| anyhow::anyhow!("not PEM: {e}"))?;
    let cert = pem.parse_x509().map_err(|e| anyhow::anyhow!("not a certificate: {e}"))?;
    Ok(cert.validity().not_after.to_datetime())
}

/// Days from now until the CA and the server certificate of `dir` expire (negative: expired), for the
/// metrics; a file that cannot be read is left out.
pub fn expiry_days(dir: &PkiDir) -> Vec<(&'static str, f64)> {
    let now = OffsetDateTime::now_utc();
    [("ca", dir.ca_cert()), ("server", dir.server_cert())]
        .into_iter()
        .filter_map(|(kind, path)| {
            let until = std::fs::read_to_string(path).ok().and_then(|pem| not_after(&pem).ok())?;
            Some((kind, (until - now).as_seconds_f64() / 86_400.0))
        })
        .collect()
}

/// Loads the CA of a data directory.
pub fn load_ca(dir: &PkiDir) -> anyhow::Result<PemPair> {
    let read = |p: PathBuf| {
        std::fs::read_to_string(&p).with_context(|| format!("reading {} (run `hub pki init` first)", p.display()))
    };
    Ok(PemPair { cert: read(dir.ca_cert())?, key: read(dir.ca_key())? })
}

/// Creates CA, server and operator certificates. Refuses to overwrite an existing CA unless `force`.
pub fn init(dir: &PkiDir, hostnames: &[String], force: bool) -> anyhow::Result<()> {
    if dir.ca_cert().exists() && !force {
        bail!(
            "{} exists already; use --force to replace the whole PKI (every issued certificate becomes invalid)",
            dir.ca_cert().display()
        );
    }
    std::fs::create_dir_all(dir.clients()).with_context(|| format!("creating {}", dir.clients().display()))?;
    let ca = new_ca("Wohnungserhalt Hub CA")?;
    write_pair(&dir.ca_cert(), &dir.ca_key(), &ca)?;
    write_pair(&dir.server_cert(), &dir.server_key(), &server_cert(&ca, hostnames)?)?;
    write_pair(&dir.operator_cert(), &dir.operator_key(), &operator_cert(&ca)?)?;
    Ok(())
}

/// Issues an organisation's certificate into `out` as `<org>.pem` and `<org>.key`.
pub fn issue(dir: &PkiDir, org: &OrgId, out: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let ca = load_ca(dir)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let pair = org_cert(&ca, org)?;
    let (cert, key) = (out.join(format!("{org}.pem")), out.join(format!("{org}.key")));
    write_pair(&cert, &key, &pair)?;
    Ok((cert, key))
}
