//! TLS client configuration shared by WebSocket (`wss://`) and SSE (`https://`).
//!
//! Verification is on by default against the system's roots; a private CA can be
//! added; skipping verification is an explicit per-connection choice. The crypto
//! provider is ring, named explicitly so no process-wide default is needed.

use std::path::PathBuf;
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

/// A TLS setting could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read CA file {path}: {cause}")]
    CaFile { path: String, cause: String },
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

/// Builds the client configuration for one connection.
pub fn client_config(opts: &TlsOptions, alpn: Alpn) -> Result<Arc<ClientConfig>, TlsError> {
    let builder =
        ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let mut config = if opts.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider())))
            .with_no_client_auth()
    } else {
        let mut roots = (*system_roots()).clone();
        if let Some(path) = &opts.ca_file {
            let shown = path.display().to_string();
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .map_err(|e| TlsError::CaFile {
                    path: shown.clone(),
                    cause: e.to_string(),
                })?
                .collect::<Result<_, _>>()
                .map_err(|e| TlsError::CaFile {
                    path: shown.clone(),
                    cause: e.to_string(),
                })?;
            if certs.is_empty() {
                return Err(TlsError::CaEmpty { path: shown });
            }
            for cert in certs {
                roots.add(cert)?;
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    if alpn == Alpn::Http {
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
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
