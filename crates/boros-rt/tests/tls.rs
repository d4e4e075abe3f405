//! TLS on boros-rt sockets: rustls (through tokio-rustls) over the tokio-io adapters
//! (`compat::Compat`), both ends on one runtime, the server's chain verified for real against
//! a test CA. Needs `--all-features` (`npm test` passes it).
//!
//! The certificates in `tests/tls/` are test-only fixtures (ECDSA P-256, valid until 2126),
//! made with openssl: a CA (`ca.pem`, its key discarded) and a leaf for `localhost` and
//! 127.0.0.1 signed by it (`server.pem`, key `server.key`).
#![cfg(feature = "tokio-io")]

use boros_rt::compat::Compat;
use boros_rt::net::{TcpListener, TcpStream};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::{TlsAcceptor, TlsConnector};

const CA: &[u8] = include_bytes!("tls/ca.pem");
const CERT: &[u8] = include_bytes!("tls/server.pem");
const KEY: &[u8] = include_bytes!("tls/server.key");

/// rustls' ring provider. (Deprecated since rustls 0.23.48 for lacking post-quantum key
/// exchange, which aws-lc-rs has; this test is about the transport, not the key exchange.)
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn acceptor() -> TlsAcceptor {
    let certs = CertificateDer::pem_slice_iter(CERT)
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(KEY).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

fn connector(ca: &[u8]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca) {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

#[test]
fn rustls_echoes_a_megabyte_over_compat() {
    boros_rt::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = boros_rt::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let mut tls = acceptor().accept(Compat::new(s)).await.unwrap();
            let mut buf = vec![0u8; 5000];
            let mut total = 0usize;
            loop {
                let n = tls.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                total += n;
                tls.write_all(&buf[..n]).await.unwrap();
            }
            tls.shutdown().await.unwrap();
            total
        });
        let tcp = Compat::new(TcpStream::connect(addr).await.unwrap());
        let name = ServerName::try_from("localhost").unwrap();
        let tls = connector(CA).connect(name, tcp).await.unwrap();
        assert_eq!(
            tls.get_ref().1.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        let (mut rd, mut wr) = tokio::io::split(tls);
        let data: Vec<u8> = (0..1u32 << 20).map(|i| (i * 13 % 251) as u8).collect();
        let expect = data.clone();
        let writer = boros_rt::spawn(async move {
            for chunk in data.chunks(7777) {
                wr.write_all(chunk).await.unwrap();
            }
            wr.flush().await.unwrap();
            wr.shutdown().await.unwrap(); // close_notify, then the write side of the socket
        });
        let mut back = Vec::new();
        rd.read_to_end(&mut back).await.unwrap();
        writer.await.unwrap();
        assert_eq!(server.await.unwrap(), 1 << 20);
        assert!(back == expect, "the echo came back whole and in order");
    });
}

/// The client refuses a server whose chain does not lead to its roots: the verification is
/// real, not skipped.
#[test]
fn rustls_refuses_an_unknown_issuer() {
    boros_rt::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = boros_rt::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            acceptor().accept(Compat::new(s)).await.is_err()
        });
        let tcp = Compat::new(TcpStream::connect(addr).await.unwrap());
        let name = ServerName::try_from("localhost").unwrap();
        // The leaf itself as the only root: not a CA, so no chain to a trust anchor.
        let err = connector(CERT).connect(name, tcp).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
        assert!(server.await.unwrap(), "the server saw the handshake fail");
    });
}
