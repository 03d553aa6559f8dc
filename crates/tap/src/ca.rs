//! The proxy's certificate authority: made on first use in the data directory, kept
//! there (the key readable by the user alone), deletable, and the signer of one leaf
//! certificate per decrypted host.
//!
//! Only the key and the certificate are stored. The issuer is rebuilt from the key and
//! the CA's fixed name, which is all that signing needs, so no X.509 parser is involved.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The CA's files live here, under the data directory.
pub const CA_DIR: &str = "tap-ca";
const CERT_FILE: &str = "ca.pem";
const KEY_FILE: &str = "ca-key.pem";
/// The CA's name, as a user sees it in a certificate store.
const CA_NAME: &str = "Streamscope local tap CA";
/// How long the CA is valid from its making: long enough not to ask the user to trust a
/// new one every year, and it never leaves the machine.
const CA_YEARS: i64 = 10;
/// A leaf's validity: made on demand, so a short one costs nothing, and stays below the
/// 398 days browsers allow a server certificate.
const LEAF_DAYS: i64 = 30;

/// The CA could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("the tap's CA in {dir}: {cause}")]
    Files { dir: String, cause: String },
    #[error("cannot make a certificate for {host}: {cause}")]
    Leaf { host: String, cause: String },
}

/// The certificate authority and the server configurations made with it so far.
pub struct Ca {
    dir: PathBuf,
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    leaves: Mutex<HashMap<String, Arc<ServerConfig>>>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Streamscope");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    params
}

impl Ca {
    /// The CA of `data_dir`, made there on first use: `tap-ca/ca.pem` (the certificate,
    /// to export and trust) and `tap-ca/ca-key.pem` (mode 0600).
    pub fn load_or_create(data_dir: &Path) -> Result<Ca, CaError> {
        let dir = data_dir.join(CA_DIR);
        let files = |cause: String| CaError::Files {
            dir: dir.display().to_string(),
            cause,
        };
        let (cert_path, key_path) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
        let (key, cert_pem) = if cert_path.is_file() && key_path.is_file() {
            let key_pem = std::fs::read_to_string(&key_path)
                .map_err(|e| files(format!("cannot read {KEY_FILE}: {e}")))?;
            let cert_pem = std::fs::read_to_string(&cert_path)
                .map_err(|e| files(format!("cannot read {CERT_FILE}: {e}")))?;
            let key = KeyPair::from_pem(&key_pem).map_err(|e| {
                files(format!(
                    "{KEY_FILE} is not a private key ({e}); delete the CA to make a new one"
                ))
            })?;
            (key, cert_pem)
        } else {
            std::fs::create_dir_all(&dir).map_err(|e| files(format!("cannot create it: {e}")))?;
            let key = KeyPair::generate().map_err(|e| files(format!("cannot make a key: {e}")))?;
            let mut params = ca_params();
            let now = time::OffsetDateTime::now_utc();
            params.not_before = now - time::Duration::days(1);
            params.not_after = now + time::Duration::days(365 * CA_YEARS);
            let cert = params
                .self_signed(&key)
                .map_err(|e| files(format!("cannot sign the CA: {e}")))?;
            write_private(&key_path, key.serialize_pem().as_bytes())
                .map_err(|e| files(format!("cannot write {KEY_FILE}: {e}")))?;
            std::fs::write(&cert_path, cert.pem())
                .map_err(|e| files(format!("cannot write {CERT_FILE}: {e}")))?;
            (key, cert.pem())
        };
        let cert_der = rustls_pki_types::pem::PemObject::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| {
                files(format!(
                    "{CERT_FILE} holds no certificate ({e}); delete the CA to make a new one"
                ))
            })?;
        Ok(Ca {
            dir,
            issuer: Issuer::new(ca_params(), key),
            cert_pem,
            cert_der,
            leaves: Mutex::default(),
        })
    }

    /// Deletes the CA of `data_dir` (its key and certificate). A running proxy keeps the
    /// one it loaded until it stops; the next one makes a new CA.
    pub fn delete(data_dir: &Path) -> Result<bool, CaError> {
        let dir = data_dir.join(CA_DIR);
        if !dir.exists() {
            return Ok(false);
        }
        std::fs::remove_dir_all(&dir).map_err(|e| CaError::Files {
            dir: dir.display().to_string(),
            cause: format!("cannot delete it: {e}"),
        })?;
        Ok(true)
    }

    /// The CA certificate as PEM: what the user exports and trusts.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Where the certificate file is.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join(CERT_FILE)
    }

    /// A TLS server configuration presenting a certificate for `host` signed by this CA
    /// (made once per host, then reused). HTTP/1.1 only: the relay reads frames and
    /// events from HTTP/1.1.
    pub fn server_config(&self, host: &str) -> Result<Arc<ServerConfig>, CaError> {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if let Some(c) = self.lock().get(&host) {
            return Ok(c.clone());
        }
        let leaf = |cause: String| CaError::Leaf {
            host: host.clone(),
            cause,
        };
        let mut params =
            CertificateParams::new(vec![host.clone()]).map_err(|e| leaf(e.to_string()))?;
        params.distinguished_name.push(DnType::CommonName, &host);
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(LEAF_DAYS);
        let key = KeyPair::generate().map_err(|e| leaf(e.to_string()))?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(|e| leaf(e.to_string()))?;
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| leaf(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone(), self.cert_der.clone()], key_der)
            .map_err(|e| leaf(e.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        self.lock().insert(host, config.clone());
        Ok(config)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ServerConfig>>> {
        // The map is whole after any panic elsewhere: at worst a leaf is made again.
        self.leaves
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Writes a file only its owner can read (0600 on Unix), created fresh.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_made_once_kept_private_and_signs_leaves_after_reloading() {
        let dir = std::env::temp_dir().join(format!("sscope-ca-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = Ca::load_or_create(&dir).expect("made");
        let again = Ca::load_or_create(&dir).expect("read back");
        assert_eq!(
            first.cert_pem(),
            again.cert_pem(),
            "the same CA on the next run"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(CA_DIR).join(KEY_FILE))
                .expect("key file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(again.server_config("example.test").is_ok());
        assert!(again.server_config("127.0.0.1").is_ok());
        assert!(Ca::delete(&dir).expect("deleted"));
        assert!(!dir.join(CA_DIR).exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
