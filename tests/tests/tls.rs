//! TLS on the gRPC and public HTTP ports: certificates made at test time (rcgen), real TLS
//! clients (tonic, reqwest), client certificates, reload without restart, and the refusal to
//! serve plaintext on a non-loopback address.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use sanxiang_domain::SystemClock;
use sanxiang_proto::v1 as pb;
use sanxiang_proto::v1::registry_service_client::RegistryServiceClient;
use sanxiang_server::{Running, ServeConfig};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// A certificate authority made for one test.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("ca");
        Self { issuer }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A leaf certificate for `names` (DNS names or IP addresses): (certificate PEM, key PEM).
    fn leaf(&self, names: &[&str]) -> (String, String) {
        let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, "sanxiang test");
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        (cert.pem(), key.serialize_pem())
    }
}

/// Writes a server certificate issued by `ca` into `dir` and returns (cert path, key path).
fn write_server_cert(ca: &Ca, dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = ca.leaf(&["localhost", "127.0.0.1"]);
    let (cert_path, key_path) = (dir.join("server.crt"), dir.join("server.key"));
    // Written beside and renamed into place, as renewal tools do (and a new inode, so the change
    // is seen even where modification times are coarse).
    for (path, pem) in [(&cert_path, cert), (&key_path, key)] {
        let next = path.with_extension("next");
        std::fs::write(&next, pem).expect("write");
        std::fs::rename(&next, path).expect("rename into place");
    }
    (cert_path, key_path)
}

async fn start_tls(dir: &Path, cert: PathBuf, key: PathBuf, client_ca: Option<PathBuf>) -> Running {
    let mut config = ServeConfig::embedded(dir.join("data"));
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.http_listen = "127.0.0.1:0".parse().expect("addr");
    config.tls_cert = Some(cert);
    config.tls_key = Some(key);
    config.tls_client_ca = client_ca;
    sanxiang_server::start(&config, Arc::new(SystemClock)).await.expect("server starts with TLS")
}

/// WhoAmI over gRPC with TLS trusting `ca_pem`, optionally presenting a client certificate: the
/// caller's principal name, or the error (connection or call) as text.
async fn whoami(running: &Running, ca_pem: &str, identity: Option<(String, String)>) -> Result<String, String> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem));
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let channel = Channel::from_shared(format!("https://127.0.0.1:{}", running.grpc_addr.port()))
        .expect("endpoint")
        .tls_config(tls)
        .map_err(|e| format!("tls config: {e}"))?
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    let token = running.admin_token.clone().expect("admin token");
    let mut client = RegistryServiceClient::with_interceptor(channel, move |mut req: tonic::Request<()>| {
        req.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("ascii"));
        Ok(req)
    });
    client
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .map(|r| r.into_inner().principal.unwrap_or_default().name)
        .map_err(|s| format!("call: {s:?}"))
}

/// GET of the public disclosure listing over HTTPS trusting only `ca_pem`: the status, or the error.
async fn https_get(running: &Running, ca_pem: &str) -> Result<reqwest::StatusCode, String> {
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("ca pem")])
        .build()
        .expect("https client");
    client
        .get(format!("https://127.0.0.1:{}/v1/disclosures", running.http_addr.port()))
        .send()
        .await
        .map(|r| r.status())
        .map_err(|e| format!("{e:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_clients_work_and_untrusted_ones_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let (ca, other) = (Ca::new("sanxiang test CA"), Ca::new("some other CA"));
    let (cert, key) = write_server_cert(&ca, dir.path());
    let running = start_tls(dir.path(), cert, key, None).await;

    let name = whoami(&running, &ca.pem(), None).await.expect("a client trusting the CA is served over gRPC");
    assert!(!name.is_empty(), "WhoAmI names the administrator");
    assert_eq!(https_get(&running, &ca.pem()).await, Ok(reqwest::StatusCode::OK), "HTTPS GET of the feed");

    let refused = whoami(&running, &other.pem(), None).await;
    assert!(refused.is_err(), "a gRPC client that does not trust the certificate is refused: {refused:?}");
    let refused = https_get(&running, &other.pem()).await;
    assert!(refused.is_err(), "an HTTPS client that does not trust the certificate is refused: {refused:?}");

    // Plaintext on a TLS port is not served either.
    let plain = reqwest::get(format!("http://127.0.0.1:{}/v1/disclosures", running.http_addr.port())).await;
    assert!(plain.is_err(), "plain HTTP to the TLS port fails: {:?}", plain.map(|r| r.status()));
    running.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_are_required_on_grpc_with_a_client_ca() {
    let dir = tempfile::tempdir().expect("dir");
    let (ca, devices, stranger) = (Ca::new("server CA"), Ca::new("device fleet CA"), Ca::new("stranger CA"));
    let (cert, key) = write_server_cert(&ca, dir.path());
    let device_ca = dir.path().join("devices.crt");
    std::fs::write(&device_ca, devices.pem()).expect("write device CA");
    let running = start_tls(dir.path(), cert, key, Some(device_ca)).await;

    let without = whoami(&running, &ca.pem(), None).await;
    assert!(without.is_err(), "a client without a certificate is refused: {without:?}");
    let foreign = whoami(&running, &ca.pem(), Some(stranger.leaf(&["device-7"]))).await;
    assert!(foreign.is_err(), "a client certificate from another CA is refused: {foreign:?}");
    let with = whoami(&running, &ca.pem(), Some(devices.leaf(&["device-1"]))).await;
    assert!(with.is_ok(), "a device with a certificate from the fleet CA is served: {with:?}");

    // The public feed stays public: no client certificate asked for there.
    assert_eq!(https_get(&running, &ca.pem()).await, Ok(reqwest::StatusCode::OK));
    running.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_certificate_is_served_to_new_connections_without_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let (old_ca, new_ca) = (Ca::new("old CA"), Ca::new("renewed CA"));
    let (cert, key) = write_server_cert(&old_ca, dir.path());
    let running = start_tls(dir.path(), cert, key, None).await;
    whoami(&running, &old_ca.pem(), None).await.expect("the first certificate is served");
    assert!(whoami(&running, &new_ca.pem(), None).await.is_err(), "not yet the renewed one");

    write_server_cert(&new_ca, dir.path());
    whoami(&running, &new_ca.pem(), None).await.expect("a new connection sees the renewed certificate");
    assert_eq!(https_get(&running, &new_ca.pem()).await, Ok(reqwest::StatusCode::OK), "on the HTTP port too");
    let stale = whoami(&running, &old_ca.pem(), None).await;
    assert!(stale.is_err(), "the replaced certificate is no longer served: {stale:?}");

    // A broken replacement (a key that does not fit) keeps the renewed certificate in service.
    let (_, stray_key) = new_ca.leaf(&["localhost"]);
    std::fs::write(dir.path().join("server.key"), stray_key).expect("write stray key");
    whoami(&running, &new_ca.pem(), None).await.expect("a mismatched key leaves the last good certificate");
    running.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_on_a_non_loopback_address_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().expect("dir");
    for (grpc, http) in [("0.0.0.0:0", "127.0.0.1:0"), ("127.0.0.1:0", "0.0.0.0:0")] {
        let data = dir.path().join("refused");
        let mut config = ServeConfig::embedded(data.clone());
        config.listen = grpc.parse().expect("addr");
        config.http_listen = http.parse().expect("addr");
        let err = sanxiang_server::start(&config, Arc::new(SystemClock)).await.expect_err("plaintext refused");
        let msg = err.to_string();
        assert!(msg.contains("0.0.0.0:0") && msg.contains("--allow-plaintext") && msg.contains("--tls-cert"), "{msg}");
        assert!(!data.exists(), "a refused start writes nothing");
    }

    // Half a TLS configuration is refused too.
    let mut config = ServeConfig::embedded(dir.path().join("half"));
    config.tls_cert = Some(dir.path().join("server.crt"));
    let err = sanxiang_server::start(&config, Arc::new(SystemClock)).await.expect_err("cert without key");
    assert!(err.to_string().contains("--tls-key"), "{err}");

    let mut config = ServeConfig::embedded(dir.path().join("allowed"));
    config.listen = "0.0.0.0:0".parse().expect("addr");
    config.http_listen = "0.0.0.0:0".parse().expect("addr");
    config.allow_plaintext = true;
    let running = sanxiang_server::start(&config, Arc::new(SystemClock)).await.expect("allowed explicitly");
    let status = reqwest::get(format!("http://127.0.0.1:{}/v1/disclosures", running.http_addr.port()))
        .await
        .expect("plain HTTP when allowed")
        .status();
    assert_eq!(status, reqwest::StatusCode::OK);
    running.stop().await.expect("stop");

    // With TLS, every address is fine.
    let ca = Ca::new("any-address CA");
    let (cert, key) = write_server_cert(&ca, dir.path());
    let mut config = ServeConfig::embedded(dir.path().join("tls"));
    config.listen = "0.0.0.0:0".parse().expect("addr");
    config.http_listen = "0.0.0.0:0".parse().expect("addr");
    config.tls_cert = Some(cert);
    config.tls_key = Some(key);
    let running = sanxiang_server::start(&config, Arc::new(SystemClock)).await.expect("TLS on 0.0.0.0");
    whoami(&running, &ca.pem(), None).await.expect("served over TLS");
    running.stop().await.expect("stop");
}
