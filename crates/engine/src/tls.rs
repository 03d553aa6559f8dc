//! TLS client configuration shared by WebSocket (`wss://`) and SSE (`https://`).
//!
//! Verification is on by default against the system's roots; a private CA can be
//! added; skipping verification is an explicit per-connection choice. The crypto
//! provider is ring, named explicitly so no process-wide default is needed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::ClientConfig;
use rustls::RootCertStore;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// How a connection verifies its server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Accept any certificate. Visible in the UI and the CLI flags; never a default.
    pub insecure: bool,
    /// A PEM file of CA certificates trusted in addition to the system's roots.
    pub ca_file: Option<PathBuf>,
}

/// Largest CA file read: a bundle of every public root is about 220 KiB, so this leaves
/// room for any real bundle and stops `/dev/zero`-like files from filling memory.
pub const MAX_CA_FILE: u64 = 1 << 20;

/// A TLS setting could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read CA file {path}: {cause}")]
    CaFile { path: String, cause: String },
    #[error("CA file {path} is not a regular file ({kind}); give a PEM file")]
    CaNotFile { path: String, kind: &'static str },
    #[error(
        "CA file {path} is larger than {MAX_CA_FILE} bytes; give a PEM file of CA certificates"
    )]
    CaTooLarge { path: String },
    #[error("CA file {path} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)")]
    CaEmpty { path: String },
    #[error("TLS setup failed: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Which application protocols to offer. WebSocket over HTTP/2 (RFC 8441) is not
/// spoken here, so WebSocket offers none; SSE may use HTTP/2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    None,
    Http,
    /// HTTP/1.1 only: the SSE client reads the HTTP/1.1 framing itself.
    Http1,
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The system's roots, loaded once: reading the store takes milliseconds.
fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut store = RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            Arc::new(store)
        })
        .clone()
}

/// Builds the client configuration for one connection. The CA file, if any, is read on
/// the blocking pool, never on a runtime worker; call this only when the connection
/// speaks TLS, so a plain `ws://` or `http://` connection never reads it.
pub async fn client_config(opts: &TlsOptions, alpn: Alpn) -> Result<Arc<ClientConfig>, TlsError> {
    let extra = match (&opts.ca_file, opts.insecure) {
        (Some(path), false) => {
            let path = path.clone();
            let shown = path.display().to_string();
            tokio::task::spawn_blocking(move || read_ca_file(&path))
                .await
                .map_err(|e| TlsError::CaFile {
                    path: shown,
                    cause: e.to_string(),
                })??
        }
        _ => Vec::new(),
    };
    config_with(opts.insecure, extra, alpn)
}

/// Reads the PEM certificates of a CA file: only a regular file, at most [`MAX_CA_FILE`].
/// A FIFO would block the reader until some writer came, and a device such as
/// `/dev/zero` never ends, so both are refused before they are opened.
fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let shown = path.display().to_string();
    let io = |e: std::io::Error| TlsError::CaFile {
        path: shown.clone(),
        cause: e.to_string(),
    };
    // `metadata` follows symlinks without opening the target, so a FIFO is seen here
    // rather than blocking in `open`.
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(TlsError::CaNotFile {
            path: shown,
            kind: file_kind(&meta.file_type()),
        });
    }
    if meta.len() > MAX_CA_FILE {
        return Err(TlsError::CaTooLarge { path: shown });
    }
    let mut pem = Vec::new();
    // Bounded again while reading: the file may have grown since it was looked at.
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_CA_FILE + 1)
        .read_to_end(&mut pem)
        .map_err(io)?;
    if pem.len() as u64 > MAX_CA_FILE {
        return Err(TlsError::CaTooLarge { path: shown });
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::CaFile {
            path: shown.clone(),
            cause: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::CaEmpty { path: shown });
    }
    Ok(certs)
}

fn file_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

fn config_with(
    insecure: bool,
    extra: Vec<CertificateDer<'static>>,
    alpn: Alpn,
) -> Result<Arc<ClientConfig>, TlsError> {
    let builder =
        ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let mut config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider())))
            .with_no_client_auth()
    } else {
        let mut roots = (*system_roots()).clone();
        for cert in extra {
            roots.add(cert)?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    if alpn == Alpn::Http {
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    }
    if alpn == Alpn::Http1 {
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
    }
    Ok(Arc::new(config))
}

/// The `--insecure` verifier: accepts any certificate chain and name, but still checks
/// that the handshake signatures are well formed for the provider's algorithms.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
